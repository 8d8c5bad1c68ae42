namespace NeuralMag;

/// <summary>How the members of a batch (<see cref="State.Batch"/>) step through an adaptive integration.</summary>
public enum BatchSteps
{
    /// <summary>
    /// Each member has its own error norm, step size and accept/reject decision, as if it ran alone; members that
    /// finish early wait, members that fail are frozen. The right-hand side must not depend on t (the members are at
    /// different times within a call).
    /// </summary>
    PerMember,

    /// <summary>One step for all members, decided by the largest error ratio among them; needed when the right-hand
    /// side depends on t (every member is at the same time).</summary>
    Common,
}

/// <summary>How one member of a batch ended an integration.</summary>
/// <param name="Completed">True when the member reached the end time.</param>
/// <param name="Message">Why it failed (null when completed); the member is left at its last accepted state.</param>
/// <param name="Time">The time it reached, in integrator units.</param>
/// <param name="AcceptedSteps">Its accepted steps in the run.</param>
public sealed record MemberOutcome(bool Completed, string? Message, double Time, int AcceptedSteps);
