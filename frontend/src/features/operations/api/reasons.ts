// Why routing did what it did, in words: the `reason` codes of GET /api/routing-events (see
// docs/api.md, "Routing events"). The answer to "why didn't this message arrive?".

const REASONS: Record<string, string> = {
  // ignored: expected, nothing to do.
  own_bot: 'Sent by Switchboard’s own bot (a reply from the inbox echoing back), so it is not stored twice.',
  webhook: 'Posted by a Discord webhook, not by a person.',
  outbound_nonce: 'A message Switchboard sent itself, recognised by its nonce.',
  system_message: 'A Discord system message (a pin, a join, a thread notice), not something someone wrote.',
  bot_author: 'Written by another bot; only people’s messages are stored.',
  // rejected: worth a look.
  unknown_guild: 'The Discord server is not connected to any company. Connect it under Settings → Integrations.',
  guild_disconnected: 'The server was disconnected or the bot was removed from it. Reconnect Discord under Settings → Integrations.',
  unknown_channel: 'The channel is no lead’s channel. Only messages in a lead’s own channel reach the inbox.',
  tenant_mismatch: 'The channel belongs to a lead of another company than the server’s.',
  guild_mismatch: 'The lead’s channel is in another Discord server than the message.',
  channel_archived: 'The lead’s channel is archived, so new messages in it are not stored. Open a new channel for the lead.',
  dm_no_lead: 'A direct message from someone who is no active lead.',
  dm_ambiguous: 'A direct message from someone who is an active lead more than once, so it cannot be placed.',
  // Platform events: what was done.
  guild_unavailable: 'Discord reported the server unavailable (an outage); it comes back by itself.',
  bot_removed: 'The bot was removed from the server: Discord is disconnected until it is added again.',
};

/** A sentence for a reason code; an unknown code is shown as it is. */
export function explainReason(reason: string | null | undefined, eventType: string): string {
  if (!reason) return 'Stored on the lead: it is in the inbox.';
  if (reason === 'channel_archived' && eventType === 'CHANNEL_DELETE') {
    return 'The lead’s channel was deleted in Discord, so it was archived here.';
  }
  return REASONS[reason] ?? `Reason code ${reason}.`;
}
