// The lead's Discord channel: none / provisioning / active / failed (reason, retry) / archived,
// with Create channel, Archive (confirmed) and what the lead must do to see it.
import { Link } from 'react-router';
import { useConfirm } from '../../../components/confirm-dialog';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { toProblem } from '../../../lib/problem';
import {
  useArchiveChannel,
  useChannel,
  useDiscordIntegration,
  useOpenChannel,
  useRetryChannel,
  type Channel,
  type Lead,
} from '../api/leads';

function channelMessage(channel: Channel): string {
  switch (channel.state) {
    case 'active':
      return 'ready';
    case 'provisioning':
      return 'being made';
    case 'failed':
      return 'failed';
    case 'archived':
      return 'archived';
  }
}

export function ChannelPanel({ lead }: { lead: Lead }) {
  const channel = useChannel(lead.id);
  const { discord, isPending: integrationPending } = useDiscordIntegration();
  const open = useOpenChannel();
  const retry = useRetryChannel();
  const archive = useArchiveChannel();
  const confirm = useConfirm();
  const toast = useToast();
  const server = discord?.metadata.guildName ?? discord?.metadata.guildId ?? 'your Discord server';

  const onError = (what: string) => (error: unknown) => {
    const problem = toProblem(error);
    toast({ kind: 'error', text: `${what}: ${problem.detail}`, code: problem.code });
  };
  const onOpened = (opened: Channel) => {
    // A ready channel shows here (and the live event says so); only a wait needs saying.
    if (opened.state === 'provisioning') toast({ text: 'The channel is being made; it appears here when ready.' });
  };

  if (channel.isPending || integrationPending) return <Skeleton lines={2} label="Loading the channel…" />;
  if (channel.isError) {
    const problem = toProblem(channel.error);
    return (
      <p className="form-error" role="alert">
        {problem.detail} <code>{problem.code}</code>
      </p>
    );
  }
  const current = channel.data;

  if (!discord) {
    return (
      <p className="hint" data-field="channel-state">
        No Discord server connected. <Link to="/settings">Connect Discord in Settings</Link> to create channels.
      </p>
    );
  }

  const createButton = (label: string) => (
    <button
      type="button"
      className="small"
      disabled={open.isPending}
      onClick={() => open.mutate({ body: { leadId: lead.id } }, { onSuccess: onOpened, onError: onError('Could not create the channel') })}
    >
      {label}
    </button>
  );

  if (!current) {
    return (
      <div className="channel" data-state="none">
        <p data-field="channel-state">No channel yet: create one in {server} to message {lead.name}.</p>
        {createButton('Create channel')}
      </div>
    );
  }

  return (
    <div className="channel" data-state={current.state}>
      <p data-field="channel-state">
        {current.channelName ? <b>#{current.channelName}</b> : 'Channel'}{' '}
        <span className="badge" data-status={current.state}>
          {channelMessage(current)}
        </span>
      </p>
      {current.state === 'provisioning' && (
        <p className="hint">Discord allows 10 new channels per 10 seconds per server; it appears here when ready.</p>
      )}
      {current.state === 'failed' && (
        <>
          <p className="field-error">Making the channel failed: {current.lastError ?? 'unknown reason'}</p>
          <button
            type="button"
            className="small"
            disabled={retry.isPending}
            onClick={() =>
              retry.mutate({ params: { path: { leadId: lead.id } } }, { onSuccess: onOpened, onError: onError('Could not retry') })
            }
          >
            Retry
          </button>
        </>
      )}
      {current.state === 'active' && (
        <>
          <p className="hint" data-field="joined">
            {lead.discordJoinedChannel
              ? 'The lead has joined.'
              : lead.discordUserId
                ? `Waiting for the lead to join. They must be a member of ${server} to see the channel: send them the server's invite link.`
                : `Nobody can see it yet: add the lead's Discord user id, and have them join ${server}.`}
          </p>
          {current.lastMessageAt && (
            <p className="hint">
              Last message <RelativeTime at={current.lastMessageAt} />
            </p>
          )}
          <button
            type="button"
            className="danger small"
            disabled={archive.isPending}
            onClick={async () => {
              const ok = await confirm({
                title: `Archive #${current.channelName ?? 'the channel'}?`,
                body: <p>{lead.name} keeps read access to the history but can no longer write there. Nothing is deleted.</p>,
                confirmLabel: 'Archive',
                danger: true,
              });
              if (ok) archive.mutate({ params: { path: { leadId: lead.id } } }, { onError: onError('Could not archive') });
            }}
          >
            Archive
          </button>
        </>
      )}
      {current.state === 'archived' && createButton('Create a new channel')}
    </div>
  );
}
