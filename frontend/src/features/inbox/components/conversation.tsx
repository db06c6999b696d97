// The middle pane: the conversation with one lead, grouped by day, each message with its real
// author and live delivery state; the composer pinned at the bottom. The view stays where the
// reader is: it follows new messages only when already at the bottom, and otherwise offers a
// "new messages" pill.
import { useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Schema } from '../../../api/client';
import { EmptyState } from '../../../components/empty-state';
import { FormError } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { clockTime, dayKey, dayLabel, fullDateTime } from '../../../lib/format';
import { toProblem } from '../../../lib/problem';
import { useToast } from '../../../components/toast';
import { useMessages, useRetryMessage, type Message } from '../api/messages';
import { Composer } from './composer';

type Lead = Schema<'LeadView'>;
type Channel = Schema<'LeadChannelView'>;

/** Who wrote a message, as people say it. */
export function authorOf(message: Message, lead: Lead, myUserId: string | undefined): string {
  const named = message.authorName;
  const { author } = message;
  if (author === `crm:${myUserId}`) return 'You';
  if (author.startsWith('discord:')) {
    const id = author.slice('discord:'.length);
    // The lead by the name the CRM knows them by; their Discord name is shown beside it.
    if (id === lead.discordUserId) return lead.name;
    return named ?? `Discord member ${id}`;
  }
  if (named) return named;
  if (message.origin === 'github') return 'GitHub';
  if (author.startsWith('crm:api_key:')) return 'API key';
  if (author.startsWith('crm:')) return 'Teammate';
  return message.direction === 'inbound' ? lead.name : 'Switchboard';
}

/** The Discord username under a lead's own message, when the API names it. */
function handleOf(message: Message, lead: Lead): string | null {
  const named = message.authorName;
  return named && message.author === `discord:${lead.discordUserId}` && named !== lead.name ? `@${named}` : null;
}

const STATE_TEXT: Record<Message['state'], string> = {
  queued: 'queued',
  sent: 'sent',
  failed: 'failed',
  received: 'received',
};

function RetryButton({ message }: { message: Message }) {
  const retry = useRetryMessage();
  const toast = useToast();
  return (
    <button
      type="button"
      className="small"
      disabled={retry.isPending}
      onClick={() =>
        retry.mutate(message.id, {
          onError: (error) => {
            const problem = toProblem(error);
            toast({ kind: 'error', text: `Could not retry: ${problem.detail}`, code: problem.code });
          },
        })
      }
    >
      Retry
    </button>
  );
}

function MessageItem({ message, author, handle }: { message: Message; author: string; handle: string | null }) {
  return (
    <li
      className="message"
      data-message-id={message.id}
      data-direction={message.direction}
      data-state={message.state}
      data-origin={message.origin}
    >
      <div className="bubble">
        <div className="meta">
          <b className="author">{author}</b>
          {handle && <span className="handle">{handle}</span>}
          <time dateTime={message.createdAt} title={fullDateTime(message.createdAt)}>
            {clockTime(message.createdAt)}
          </time>
          {message.direction === 'outbound' && (
            <span className="badge" data-status={message.state} data-field="state">
              {STATE_TEXT[message.state]}
            </span>
          )}
        </div>
        <p className="content">{message.content}</p>
        {message.state === 'failed' && (
          <div className="failure" role="note">
            <span>Not delivered: {message.failureReason ?? 'unknown reason'}</span>
            {message.direction === 'outbound' && <RetryButton message={message} />}
          </div>
        )}
      </div>
    </li>
  );
}

export interface ConversationProps {
  lead: Lead;
  myUserId: string | undefined;
  /** The lead's channel: `null` none, `undefined` still loading. */
  channel: Channel | null | undefined;
  /** Buttons for the header (back to the list, details). */
  headerActions?: ReactNode;
  /**
   * Called with the newest inbound message whenever it changes while shown; `arrived` is false
   * for the one that was already there when the conversation loaded, true for one that came in
   * while it was open.
   */
  onSeen?: (newestInbound: Message, arrived: boolean) => void;
}

export function Conversation({ lead, myUserId, channel, headerActions, onSeen }: ConversationProps) {
  const messages = useMessages(lead.id);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const previous = useRef<{ newestId: string | undefined; oldestId: string | undefined; height: number }>({
    newestId: undefined,
    oldestId: undefined,
    height: 0,
  });
  const [unseen, setUnseen] = useState(0);
  const [announcement, setAnnouncement] = useState('');

  // Oldest first for reading.
  const ordered = useMemo(
    () => (messages.data?.pages.flatMap((page) => page.items) ?? []).slice().reverse(),
    [messages.data],
  );
  const groups = useMemo(() => {
    const byDay: { day: string; label: string; items: Message[] }[] = [];
    for (const message of ordered) {
      const day = dayKey(message.createdAt);
      const last = byDay[byDay.length - 1];
      if (last?.day === day) last.items.push(message);
      else byDay.push({ day, label: dayLabel(message.createdAt), items: [message] });
    }
    return byDay;
  }, [ordered]);

  const newest = ordered[ordered.length - 1];
  const oldest = ordered[0];
  const newestInbound = useMemo(() => [...ordered].reverse().find((m) => m.direction === 'inbound'), [ordered]);

  // Keep the reader's place: follow the bottom only when they were there; keep the view still when
  // older messages are added above.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const before = previous.current;
    const grewAtBottom = newest && newest.id !== before.newestId && before.newestId !== undefined;
    const grewAtTop = oldest && oldest.id !== before.oldestId && before.oldestId !== undefined && !grewAtBottom;
    const mine = grewAtBottom && newest.author === `crm:${myUserId}`;
    if (before.newestId === undefined || mine || (atBottom.current && !grewAtTop)) {
      element.scrollTop = element.scrollHeight;
    } else if (grewAtTop) {
      element.scrollTop += element.scrollHeight - before.height;
    } else if (grewAtBottom) {
      setUnseen((n) => n + 1);
    }
    if (grewAtBottom && newest.direction === 'inbound') {
      setAnnouncement(`New message from ${authorOf(newest, lead, myUserId)}: ${newest.content.slice(0, 140)}`);
    }
    previous.current = { newestId: newest?.id, oldestId: oldest?.id, height: element.scrollHeight };
  }, [newest, oldest, lead, myUserId]);

  // A new lead: start at its bottom.
  useLayoutEffect(() => {
    atBottom.current = true;
    previous.current = { newestId: undefined, oldestId: undefined, height: 0 };
    setUnseen(0);
    setAnnouncement('');
  }, [lead.id]);

  // The newest inbound message when the conversation loaded (null: none yet); anything newer
  // arrived while it was open.
  const loadedWith = useRef<{ leadId: string; messageId: string | null } | null>(null);
  if (messages.data && loadedWith.current?.leadId !== lead.id) {
    loadedWith.current = { leadId: lead.id, messageId: newestInbound?.id ?? null };
  }
  useLayoutEffect(() => {
    if (newestInbound && onSeen) onSeen(newestInbound, newestInbound.id !== loadedWith.current?.messageId);
  }, [newestInbound, onSeen]);

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
    if (atBottom.current) setUnseen(0);
  };

  const toBottom = () => {
    const element = scroller.current;
    if (element) element.scrollTo({ top: element.scrollHeight, behavior: 'smooth' });
    setUnseen(0);
  };

  const disabledReason =
    channel === undefined
      ? 'Loading the channel…'
      : channel === null
        ? 'No Discord channel yet: create one in the details panel to message this lead.'
        : channel.state === 'provisioning'
          ? 'The Discord channel is being made; you can write once it is ready.'
          : channel.state === 'failed'
            ? 'Making the Discord channel failed: retry it in the details panel.'
            : channel.state === 'archived'
              ? 'The channel is archived: create a new one to write again.'
              : null;

  return (
    <section className="pane conversation" aria-labelledby="conversation-title">
      <header className="pane-head conversation-head">
        <h2 id="conversation-title" className="pane-title">
          {lead.name}
        </h2>
        {headerActions}
      </header>
      <div className="messages-scroll" ref={scroller} onScroll={onScroll}>
        {messages.hasNextPage && (
          <div className="load-more">
            <button
              type="button"
              className="secondary small"
              disabled={messages.isFetchingNextPage}
              onClick={() => void messages.fetchNextPage()}
            >
              {messages.isFetchingNextPage ? 'Loading…' : 'Load earlier messages'}
            </button>
          </div>
        )}
        {messages.isPending && <Skeleton lines={5} label="Loading messages…" />}
        {messages.isError && <FormError problem={toProblem(messages.error)} />}
        {messages.isSuccess && ordered.length === 0 && (
          <EmptyState title="No messages yet">
            {disabledReason ?? `Write the first message to ${lead.name} below.`}
          </EmptyState>
        )}
        <ol className="messages" aria-label="Messages">
          {groups.map((group) => (
            <li key={group.day} className="day">
              <h3 className="day-label">{group.label}</h3>
              <ol className="day-messages">
                {group.items.map((message) => (
                  <MessageItem
                    key={message.id}
                    message={message}
                    author={authorOf(message, lead, myUserId)}
                    handle={handleOf(message, lead)}
                  />
                ))}
              </ol>
            </li>
          ))}
        </ol>
      </div>
      {unseen > 0 && (
        <button type="button" className="new-messages-pill" onClick={toBottom}>
          {unseen === 1 ? '1 new message' : `${unseen} new messages`} ↓
        </button>
      )}
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
      <Composer leadId={lead.id} disabledReason={disabledReason} />
    </section>
  );
}
