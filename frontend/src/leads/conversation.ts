// Leads and their conversations: add a lead, open their Discord channel, send them messages and
// watch replies and delivery states arrive live (the lead's event stream), without reloading.
import {
  api,
  apiBase,
  call,
  type ApiError,
  type LeadChannelView,
  type LeadView,
  type MessageView,
} from '../api/client';
import { openLiveStream, streamUrl, type LiveEvent, type LiveStream, type StreamState } from '../api/live';
import { $ } from '../dom';

export interface ConversationUi {
  showStatus(kind: 'info' | 'success' | 'error', text: string, code?: string): void;
  showError(error: unknown, prefix?: string): void;
}

/** Messages oldest first; ids are time-ordered, so they break ties within one instant. */
function byTime(a: MessageView, b: MessageView): number {
  return a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1;
}

const STREAM_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Live: replies appear as they arrive.',
  reconnecting: 'Live updates interrupted; reconnecting (nothing is lost).',
  closed: 'Live updates are off.',
};

export function initConversations(ui: ConversationUi) {
  const leadForm = $<HTMLFormElement>('lead-form');
  const leadList = $<HTMLUListElement>('leads');
  const panel = $<HTMLElement>('conversation');
  const title = $<HTMLHeadingElement>('conversation-title');
  const channelLine = $<HTMLParagraphElement>('conversation-channel');
  const openChannelButton = $<HTMLButtonElement>('open-channel');
  const messageList = $<HTMLOListElement>('messages');
  const compose = $<HTMLFormElement>('compose');
  const composeContent = $<HTMLTextAreaElement>('compose-content');
  const streamLine = $<HTMLParagraphElement>('live');

  let leads: LeadView[] = [];
  let lead: LeadView | null = null;
  let channel: LeadChannelView | null = null;
  const messages = new Map<string, MessageView>();
  let stream: LiveStream | null = null;
  /** Kept until the send succeeds, so a retried click cannot send the message twice. */
  let pendingSend: { key: string; content: string } | null = null;

  function renderLeads(): void {
    const items = leads.map((item) => {
      const li = document.createElement('li');
      li.className = 'lead';
      li.dataset.leadId = item.id;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.textContent = item.name;
      button.setAttribute('aria-pressed', String(item.id === lead?.id));
      button.addEventListener('click', () => void openConversation(item));
      const detail = document.createElement('small');
      detail.className = 'hint';
      detail.textContent = item.discordChannelId ? ' · has a channel' : '';
      li.append(button, detail);
      return li;
    });
    if (items.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'hint';
      empty.textContent = 'No leads yet.';
      items.push(empty);
    }
    leadList.replaceChildren(...items);
  }

  function renderHeader(): void {
    if (!lead) return;
    title.textContent = `Conversation with ${lead.name}`;
    if (channel?.isActive) {
      channelLine.textContent = `Discord channel #${channel.channelName} · ${
        lead.discordJoinedChannel ? 'the lead has joined' : 'waiting for the lead to join'
      }`;
      openChannelButton.hidden = true;
    } else if (channel?.state === 'provisioning') {
      channelLine.textContent =
        'The Discord channel is being made (Discord allows 10 new channels per 10 seconds per server); it appears here when ready.';
      openChannelButton.hidden = true;
    } else {
      channelLine.textContent =
        channel?.state === 'failed'
          ? `Making the Discord channel failed: ${channel.lastError ?? 'unknown reason'}. Try again.`
          : channel
            ? 'The Discord channel was archived or deleted.'
            : 'No Discord channel yet: open one to message this lead.';
      openChannelButton.hidden = false;
    }
    compose.querySelector('button')!.disabled = !channel?.isActive;
  }

  function renderMessages(): void {
    const sorted = [...messages.values()].sort(byTime);
    const items = sorted.map((message) => {
      const li = document.createElement('li');
      li.className = 'message';
      li.dataset.messageId = message.id;
      li.dataset.direction = message.direction;
      li.dataset.state = message.state;
      const meta = document.createElement('div');
      meta.className = 'meta';
      const who = document.createElement('b');
      who.textContent = message.direction === 'inbound' ? (lead?.name ?? 'Lead') : 'You';
      const when = document.createElement('time');
      when.dateTime = message.createdAt;
      when.textContent = new Date(message.createdAt).toLocaleTimeString();
      meta.append(who, ' ', when);
      if (message.direction === 'outbound') {
        const state = document.createElement('span');
        state.className = 'badge';
        state.dataset.status = message.state;
        state.dataset.field = 'state';
        state.textContent = message.state;
        if (message.failureReason) state.title = message.failureReason;
        meta.append(' ', state);
      }
      const text = document.createElement('p');
      text.className = 'content';
      text.textContent = message.content;
      li.append(meta, text);
      return li;
    });
    if (items.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'hint';
      empty.textContent = 'No messages yet.';
      items.push(empty);
    }
    messageList.replaceChildren(...items);
    messageList.scrollTop = messageList.scrollHeight;
  }

  /**
   * Show a message. Events arrive in order and always carry its latest state; any other source
   * (the send's answer, the first read) only adds a message not seen yet, so it cannot put back
   * an older state.
   */
  function showMessage(message: MessageView, latest: boolean): void {
    if (!latest && messages.has(message.id)) return;
    messages.set(message.id, message);
    renderMessages();
  }

  function onEvent(event: LiveEvent): void {
    if (!lead || event.leadId !== lead.id) return;
    switch (event.type) {
      case 'message.created':
      case 'message.updated':
        showMessage(event.data, true);
        break;
      case 'lead.updated':
        lead = event.data;
        leads = leads.map((item) => (item.id === event.data.id ? event.data : item));
        renderHeader();
        renderLeads();
        break;
      case 'channel.created':
      case 'channel.archived':
        channel = event.data;
        renderHeader();
        break;
    }
  }

  function onStreamState(state: StreamState): void {
    streamLine.dataset.state = state;
    streamLine.textContent = STREAM_TEXT[state];
  }

  async function openConversation(next: LeadView): Promise<void> {
    stream?.close();
    stream = null;
    lead = next;
    channel = null;
    messages.clear();
    pendingSend = null;
    composeContent.value = '';
    panel.hidden = false;
    renderLeads();
    renderHeader();
    renderMessages();
    // Stream first, then read: whatever happens in between arrives on the stream, and
    // `showMessage` keeps each message once.
    stream = openLiveStream(
      streamUrl(apiBase, '/api/leads/{leadId}/events', { leadId: next.id }),
      onEvent,
      onStreamState,
    );
    try {
      const page = await call(() =>
        api.GET('/api/leads/{leadId}/messages', { params: { path: { leadId: next.id }, query: { limit: 100 } } }),
      );
      if (lead?.id !== next.id) return;
      for (const message of page.items) {
        if (!messages.has(message.id)) messages.set(message.id, message);
      }
      renderMessages();
      channel = await call(() =>
        api.GET('/api/discord/channels/{leadId}', { params: { path: { leadId: next.id } } }),
      ).catch((error: ApiError) => {
        if (error.status === 404) return null;
        throw error;
      });
      if (lead?.id !== next.id) return;
      renderHeader();
    } catch (error) {
      ui.showError(error, 'Could not load the conversation: ');
    }
  }

  async function loadLeads(): Promise<void> {
    try {
      const page = await call(() => api.GET('/api/leads', { params: { query: { limit: 100 } } }));
      leads = page.items;
      renderLeads();
    } catch (error) {
      ui.showError(error, 'Could not load leads: ');
    }
  }

  leadForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(leadForm);
    const name = String(form.get('name') ?? '').trim();
    const discordUserId = String(form.get('discordUserId') ?? '').trim();
    const button = leadForm.querySelector('button')!;
    button.disabled = true;
    try {
      const created = await call(() =>
        api.POST('/api/leads', { body: { name, ...(discordUserId ? { discordUserId } : {}) } }),
      );
      leadForm.reset();
      leads = [created, ...leads];
      ui.showStatus('success', `${created.name} added.`);
      await openConversation(created);
    } catch (error) {
      ui.showError(error, 'Could not add the lead: ');
    } finally {
      button.disabled = false;
    }
  });

  openChannelButton.addEventListener('click', async () => {
    if (!lead) return;
    const leadId = lead.id;
    openChannelButton.disabled = true;
    try {
      const opened = await call(() => api.POST('/api/discord/channels', { body: { leadId } }));
      if (lead?.id === leadId) {
        channel = opened;
        renderHeader();
      }
      if (opened.state === 'active') {
        ui.showStatus('success', `Channel #${opened.channelName} is open.`);
      } else if (opened.state === 'failed') {
        ui.showStatus('error', `The channel could not be made: ${opened.lastError ?? 'unknown reason'}`);
      } else {
        ui.showStatus('success', 'The channel is being made; it appears here when ready.');
      }
    } catch (error) {
      ui.showError(error, 'Could not open a channel: ');
    } finally {
      openChannelButton.disabled = false;
    }
  });

  compose.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!lead) return;
    const content = composeContent.value;
    if (!content.trim()) {
      ui.showStatus('error', 'Write a message first.');
      return;
    }
    if (pendingSend?.content !== content) {
      pendingSend = { key: crypto.randomUUID(), content };
    }
    const { key } = pendingSend;
    const leadId = lead.id;
    const button = compose.querySelector('button')!;
    button.disabled = true;
    try {
      const sent = await call(() =>
        api.POST('/api/discord/send-message', {
          params: { header: { 'Idempotency-Key': key } },
          body: { leadId, content },
        }),
      );
      pendingSend = null;
      if (lead?.id === leadId) {
        composeContent.value = '';
        showMessage(sent, false);
      }
    } catch (error) {
      ui.showError(error, 'Could not send: ');
    } finally {
      button.disabled = !channel?.isActive;
    }
  });

  return {
    load: loadLeads,
    /** Forget everything (log out). */
    reset(): void {
      stream?.close();
      stream = null;
      lead = null;
      channel = null;
      leads = [];
      messages.clear();
      pendingSend = null;
      panel.hidden = true;
      leadList.replaceChildren();
    },
  };
}
