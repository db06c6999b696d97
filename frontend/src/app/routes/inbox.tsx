// The inbox: leads on the left, the conversation in the middle, the lead's details on the right
// (as in Chatwoot or Intercom). Up to 768 px wide one pane shows at a time, with a way back.
// This route composes the features: leads (list, details, channel, links), inbox (conversation)
// and, in sandbox mode, sandbox (members, replying as the lead, closing links on GitHub).
import { useCallback, useRef, useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { useAppConfig } from '../../api/config';
import { EmptyState } from '../../components/empty-state';
import { Modal } from '../../components/modal';
import { Skeleton } from '../../components/skeleton';
import { useMe } from '../../features/auth/api/session';
import { Conversation } from '../../features/inbox/components/conversation';
import type { Message } from '../../features/inbox/api/messages';
import { useChannel, useLead, useMarkRead } from '../../features/leads/api/leads';
import { ChannelPanel } from '../../features/leads/components/channel-panel';
import { LeadDetails, StatusActions } from '../../features/leads/components/lead-details';
import { LeadList } from '../../features/leads/components/lead-list';
import { LinksPanel } from '../../features/leads/components/links-panel';
import { NewLeadForm } from '../../features/leads/components/new-lead-form';
import { CloseOnGitHub, MemberPicker, ReplyAsLead } from '../../features/sandbox/components/sandbox-tools';
import { toProblem } from '../../lib/problem';

function LeadWorkspace({ leadId }: { leadId: string }) {
  const lead = useLead(leadId);
  const channel = useChannel(leadId);
  const me = useMe();
  const config = useAppConfig();
  const { search } = useLocation();
  const [details, setDetails] = useState(false);
  const sandbox = config.data?.sandbox === true;
  const markRead = useMarkRead();
  const marked = useRef<{ leadId: string; messageId: string } | null>(null);
  const unread = lead.data?.unreadCount ?? 0;

  // Reading the conversation marks it read: when it opens with unread messages, and whenever a
  // new inbound message arrives while it is open.
  const onSeen = useCallback(
    (newest: Message, arrived: boolean) => {
      const before = marked.current;
      if (before?.leadId === leadId && before.messageId === newest.id) return;
      marked.current = { leadId, messageId: newest.id };
      if (!arrived && unread === 0) return;
      markRead.mutate({ params: { path: { leadId } } });
    },
    // `markRead.mutate` is stable; `unread` only matters when the lead opens.
    [leadId, unread],
  );

  if (lead.isPending) {
    return (
      <section className="pane conversation">
        <Skeleton lines={6} label="Loading the lead…" />
      </section>
    );
  }
  if (lead.isError) {
    const problem = toProblem(lead.error);
    return (
      <section className="pane conversation">
        <EmptyState title={problem.status === 404 ? 'No such lead' : 'Could not load this lead'}>
          <p>
            {problem.detail} <code>{problem.code}</code>
          </p>
          <Link to={`/${search}`}>Back to the inbox</Link>
        </EmptyState>
      </section>
    );
  }
  const current = lead.data;

  return (
    <>
      <Conversation
        key={current.id}
        lead={current}
        myUserId={me.data?.user?.id}
        channel={channel.isPending ? undefined : (channel.data ?? null)}
        onSeen={onSeen}
        headerActions={
          <>
            <Link to={`/${search}`} className="button-like secondary small mobile-only" aria-label="Back to leads">
              ← Leads
            </Link>
            <button
              type="button"
              className="secondary small details-toggle"
              aria-expanded={details}
              aria-controls="lead-side"
              onClick={() => setDetails((d) => !d)}
            >
              Details
            </button>
          </>
        }
      />
      <aside id="lead-side" className="pane side" aria-label="Lead details" data-open={details || undefined}>
        <div className="pane-head">
          <h2 className="pane-title">{current.name}</h2>
          <button type="button" className="secondary small details-toggle" onClick={() => setDetails(false)}>
            ← Conversation
          </button>
        </div>
        <div className="pane-body side-body">
          <section aria-labelledby="side-status">
            <h3 id="side-status">Status</h3>
            <StatusActions lead={current} />
          </section>
          <section aria-labelledby="side-details">
            <h3 id="side-details">Details</h3>
            <LeadDetails lead={current} />
          </section>
          <section aria-labelledby="side-channel">
            <h3 id="side-channel">Discord channel</h3>
            <ChannelPanel lead={current} />
          </section>
          <section aria-labelledby="side-links">
            <h3 id="side-links">GitHub</h3>
            <LinksPanel
              lead={current}
              {...(sandbox
                ? {
                    linkActions: (link) =>
                      link.state === 'open' ? (
                        <CloseOnGitHub linkId={link.id} label={`${link.repository}#${link.number}`} />
                      ) : null,
                  }
                : {})}
            />
          </section>
          {sandbox && (
            <section aria-labelledby="side-sandbox" className="sandbox-section">
              <h3 id="side-sandbox">Sandbox</h3>
              {current.discordUserId ? (
                <ReplyAsLead leadId={current.id} leadName={current.name} />
              ) : (
                <p className="hint">Give the lead a Discord user id to reply as them.</p>
              )}
            </section>
          )}
        </div>
      </aside>
    </>
  );
}

export function InboxRoute() {
  const { leadId } = useParams();
  const navigate = useNavigate();
  const { search } = useLocation();
  const [adding, setAdding] = useState(false);
  const config = useAppConfig();

  return (
    <main className="inbox" data-view={leadId ? 'lead' : 'list'}>
      <LeadList selectedId={leadId} onNewLead={() => setAdding(true)} />
      {leadId ? (
        <LeadWorkspace leadId={leadId} />
      ) : (
        <section className="pane conversation placeholder" aria-label="Conversation">
          <EmptyState title="Pick a lead">Choose a conversation on the left, or add a lead with New lead.</EmptyState>
        </section>
      )}
      <Modal open={adding} onClose={() => setAdding(false)} title="New lead">
        <NewLeadForm
          {...(config.data?.sandbox ? { discordPicker: (pick) => <MemberPicker onPick={pick} /> } : {})}
          onCancel={() => setAdding(false)}
          onCreated={(lead) => {
            setAdding(false);
            navigate(`/leads/${lead.id}${search}`);
          }}
        />
      </Modal>
    </main>
  );
}
