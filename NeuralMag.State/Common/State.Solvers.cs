namespace NeuralMag;

public sealed partial class State
{
    private int _advancing;
    private string? _advancedBy;

    /// <summary>
    /// Marks the state as being advanced by a solver (an LLG integration, a relaxation, a minimization) until the
    /// returned handle is disposed. A state is advanced by one solver at a time: a second solver that starts while
    /// the first runs, on any thread, gets an <see cref="InvalidOperationException"/> instead of silently
    /// interleaving its updates of m and t with the first one's.
    /// </summary>
    internal IDisposable BeginAdvance(string operation)
    {
        if (Interlocked.CompareExchange(ref _advancing, 1, 0) != 0)
            throw new InvalidOperationException(
                $"{operation}: the state is already being advanced by {_advancedBy ?? "another solver"}. A State is advanced by one solver at a time; " +
                "run concurrent simulations on separate State objects (one per thread).");
        _advancedBy = $"{operation} (thread {Environment.CurrentManagedThreadId})";
        return new AdvanceHandle(this);
    }

    private sealed class AdvanceHandle(State state) : IDisposable
    {
        private State? _state = state;

        public void Dispose()
        {
            var s = Interlocked.Exchange(ref _state, null);
            if (s == null) return;
            s._advancedBy = null;
            Volatile.Write(ref s._advancing, 0);
        }
    }
}
