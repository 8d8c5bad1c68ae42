using NeuralMag.AD;

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

    /// <summary>
    /// The m tensor a solver integrated and wrote last (an LLG step or relaxation), or null. Runge–Kutta steps do not
    /// conserve |m|, so that m is off unit length by the integrator's error alone; the next solver of this state, the
    /// same or a new one, normalizes it without the notice meant for an m the user set.
    /// </summary>
    internal NTensor? IntegratedM { get; set; }

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
