/** "Load more" under a paged list, with its own error. */
export function LoadMore({
  query,
}: {
  query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown; isFetchNextPageError: boolean };
}) {
  if (!query.hasNextPage) return null;
  return (
    <div className="load-more">
      <button type="button" className="secondary" disabled={query.isFetchingNextPage} onClick={() => void query.fetchNextPage()}>
        {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
      </button>
      {query.isFetchNextPageError && (
        <p className="field-error" role="alert">
          The next page did not load. Try again.
        </p>
      )}
    </div>
  );
}
