/** The element with this id in index.html; a missing one is a bug in the page, not a user error. */
export const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
};
