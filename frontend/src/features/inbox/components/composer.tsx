// The composer, pinned under the conversation: Enter sends, Shift+Enter is a new line, a counter
// out of 2,000. Each draft has its own Idempotency-Key, kept until the send succeeds, so sending
// again after a network error cannot deliver the message twice.
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { FormError } from '../../../components/field-error';
import { toProblem, type ProblemInfo } from '../../../lib/problem';
import { MAX_LENGTH, useSendMessage } from '../api/messages';

interface Draft {
  content: string;
  /** Set at the first attempt to send this content; cleared when the content changes. */
  key: string | null;
}

// Drafts survive switching leads (not reloads).
const drafts = new Map<string, Draft>();

export function Composer({ leadId, disabledReason }: { leadId: string; disabledReason: string | null }) {
  const send = useSendMessage(leadId);
  const id = useId();
  const [draft, setDraftState] = useState<Draft>(() => drafts.get(leadId) ?? { content: '', key: null });
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);

  const setDraft = (next: Draft) => {
    drafts.set(leadId, next);
    setDraftState(next);
  };

  useEffect(() => {
    setDraftState(drafts.get(leadId) ?? { content: '', key: null });
    setProblem(null);
  }, [leadId]);

  const length = draft.content.length;
  const tooLong = length > MAX_LENGTH;
  const empty = draft.content.trim() === '';
  const disabled = disabledReason !== null;

  async function submit() {
    if (disabled || empty || tooLong || send.isPending) return;
    const key = draft.key ?? crypto.randomUUID();
    const sending: Draft = { content: draft.content, key };
    setDraft(sending);
    setProblem(null);
    try {
      await send.mutateAsync({ content: sending.content, key });
      // Only clear what was sent: typing during the send started a new draft.
      const now = drafts.get(leadId);
      if (now?.content === sending.content) setDraft({ content: '', key: null });
      textarea.current?.focus();
    } catch (error) {
      setProblem(toProblem(error));
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form
      className="composer"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        void submit();
      }}
    >
      <label htmlFor={`${id}-message`} className="visually-hidden">
        Message
      </label>
      <textarea
        id={`${id}-message`}
        ref={textarea}
        rows={2}
        value={draft.content}
        disabled={disabled}
        placeholder={disabled ? '' : 'Write a message… (Enter sends, Shift+Enter for a new line)'}
        aria-describedby={`${id}-help`}
        aria-invalid={tooLong || undefined}
        onChange={(event) =>
          // A changed text is a new draft: it gets a new key when sent.
          setDraft({ content: event.target.value, key: event.target.value === draft.content ? draft.key : null })
        }
        onKeyDown={onKeyDown}
      />
      <div className="composer-bar">
        <span id={`${id}-help`} className={disabled ? 'composer-reason' : 'hint'}>
          {disabledReason ?? (
            <span className={tooLong ? 'field-error' : undefined} data-field="counter">
              {length} / {MAX_LENGTH}
            </span>
          )}
        </span>
        <button type="submit" disabled={disabled || empty || tooLong || send.isPending}>
          {send.isPending ? 'Sending…' : 'Send'}
        </button>
      </div>
      {problem && (
        <FormError
          problem={{
            ...problem,
            detail: `Not sent: ${problem.fieldErrors.content ?? problem.detail}${problem.status === 0 ? ' Press Send to try again (it will not be sent twice).' : ''}`,
          }}
        />
      )}
    </form>
  );
}
