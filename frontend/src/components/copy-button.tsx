import { useState, type ReactNode } from 'react';

/** Copy `text` to the clipboard; says "Copied" for a moment, or what to do when it cannot. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      className="secondary small"
      aria-live="polite"
      onClick={() => {
        navigator.clipboard.writeText(text).then(
          () => setState('copied'),
          () => setState('failed'),
        );
        window.setTimeout(() => setState('idle'), 2_000);
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy it by hand' : label}
    </button>
  );
}

/** A secret the API shows this once: copy it now. */
export function SecretOnce({
  title,
  secret,
  onDone,
  children,
}: {
  title: string;
  secret: string;
  onDone: () => void;
  children?: ReactNode;
}) {
  return (
    <div className="callout secret-once" role="alert">
      <p>
        <b>{title}</b> Copy it now: it is not shown again.
      </p>
      {children}
      <code className="secret" data-field="secret">
        {secret}
      </code>
      <div className="row">
        <CopyButton text={secret} label="Copy secret" />
        <button type="button" className="secondary small" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
