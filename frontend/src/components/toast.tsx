// Toasts: short notes about things that happened in the background (a message that failed, a
// channel that was made, a disconnect). Errors caused by a form are shown next to the form instead.
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

export type ToastKind = 'info' | 'success' | 'error';

export interface ToastInput {
  kind?: ToastKind;
  text: string;
  /** A stable code (a problem's `code`), shown small after the text. */
  code?: string;
  /** Extra data-* for tests and styling, e.g. how an outcome arrived. */
  via?: string;
}

interface Toast extends Required<Pick<ToastInput, 'kind' | 'text'>> {
  id: number;
  code: string | undefined;
  via: string | undefined;
}

const ToastContext = createContext<((toast: ToastInput) => void) | null>(null);

const LIFETIME_MS = 8_000;
const ERROR_LIFETIME_MS = 15_000;

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);

  const push = useCallback(
    (input: ToastInput) => {
      const id = nextId.current++;
      const toast: Toast = { id, kind: input.kind ?? 'info', text: input.text, code: input.code, via: input.via };
      // At most four at a time: the oldest goes first.
      setToasts((all) => [...all.slice(-3), toast]);
      window.setTimeout(() => dismiss(id), toast.kind === 'error' ? ERROR_LIFETIME_MS : LIFETIME_MS);
    },
    [dismiss],
  );

  return (
    <ToastContext.Provider value={push}>
      {children}
      <section className="toasts" aria-label="Notifications" role="status" aria-live="polite">
        {toasts.map((toast) => (
          <div key={toast.id} className="toast" data-kind={toast.kind} data-via={toast.via}>
            <p>
              {toast.text}
              {toast.code && (
                <>
                  {' '}
                  <code>{toast.code}</code>
                </>
              )}
            </p>
            <button type="button" className="icon" aria-label="Dismiss" onClick={() => dismiss(toast.id)}>
              ×
            </button>
          </div>
        ))}
      </section>
    </ToastContext.Provider>
  );
}

/** `const toast = useToast(); toast({ kind: 'success', text: 'Saved.' })`. */
export function useToast(): (toast: ToastInput) => void {
  const push = useContext(ToastContext);
  if (!push) throw new Error('useToast outside ToastProvider');
  return useMemo(() => push, [push]);
}
