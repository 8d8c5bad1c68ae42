using Spectre.Console;

namespace NeuralMag.Demos;

/// <summary>
/// Shows the <see cref="SolverProgress"/> reports of a long solver call: a live progress bar (Spectre.Console) when
/// the console is an interactive terminal, otherwise one line every two seconds on standard error, so that logs of
/// CI runs stay readable. Ctrl+C cancels the call through the token passed to the body.
/// </summary>
public static class ConsoleProgress
{
    /// <summary>Runs <paramref name="body"/> with a progress sink and a cancellation token tied to Ctrl+C.</summary>
    /// <param name="title">What runs, e.g. "relaxing the s-state".</param>
    /// <param name="body">The long work; it passes the sink to a solver's Progress and the token to its call.</param>
    public static T Run<T>(string title, Func<IProgress<SolverProgress>, CancellationToken, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            if (Console.IsOutputRedirected || Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
                return body(new TextProgress(Console.Error, TimeSpan.FromSeconds(2)), cts.Token);
            return AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(title), maxValue: 1.0);
                    var result = body(new Bar(task, title), cts.Token);
                    task.Value = task.MaxValue;
                    return result;
                });
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    /// <summary>As <see cref="Run{T}"/> for work without a result.</summary>
    public static void Run(string title, Action<IProgress<SolverProgress>, CancellationToken> body) =>
        Run(title, (p, ct) => { body(p, ct); return 0; });

    private sealed class Bar(ProgressTask task, string title) : IProgress<SolverProgress>
    {
        public void Report(SolverProgress value)
        {
            task.Value = Math.Clamp(value.Fraction, 0, 1);
            var detail = double.IsNaN(value.Residual)
                ? $"t = {value.Time:E3} s, {value.Evaluations} evaluations"
                : $"residual {value.Residual:E2} → {value.Tolerance:E2}";
            task.Description = Markup.Escape($"{title} ({detail})");
        }
    }
}
