export function OperationsRoute() {
  return (
    <main className="page">
      <h1>Operations</h1>
    </main>
  );
}
