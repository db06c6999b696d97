// Paging for `$api.useInfiniteQuery` over the API's `{items, nextCursor}` lists: the first page
// has no cursor (`null`, which the client leaves out of the query string), each next page asks
// for the previous page's `nextCursor`, and a `null` cursor is the last page.
export const cursorPaging = {
  initialPageParam: null,
  getNextPageParam: (last: { nextCursor?: string | null }) => last.nextCursor ?? undefined,
} as const;

/** Every item of every page loaded so far. */
export function allItems<Item>(data: { pages: { items: Item[] }[] } | undefined): Item[] {
  return data?.pages.flatMap((page) => page.items) ?? [];
}
