export function InboxRoute() {
  return (
    <main className="page">
      <h1>Inbox</h1>
    </main>
  );
}
