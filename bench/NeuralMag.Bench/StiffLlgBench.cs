using System.Diagnostics;
using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// A stiff LLG case: a 32 x 8 x 0.5 nm permalloy-like film (sp4's material, Ms = 8e5 A/m, A = 1.3e-11 J/m,
/// alpha = 0.02) on 0.5 nm cells (64 x 16 x 1), exchange + demag + sp4's field 1, from a smooth start that meets the exchange boundary condition.
/// On these cells the exchange field's largest eigenvalue bounds an explicit step to ~1e-14 s while the
/// magnetization moves on ~10 ps. The rows: Dormand–Prince at rtol = atol = 1e-5 (the default), and the
/// implicit–explicit KenCarp methods (exchange implicit, demag and Zeeman explicit; GMRES preconditioned by the probed
/// 3x3 node blocks of the Newton matrix, the default, and at rtol 1e-5 also by the band LU of the probed
/// nearest-neighbour Jacobian and without a preconditioner, for comparison),
/// each row with its error max |m − m_ref| against Dormand–Prince at rtol = atol = 1e-10 and every kind of
/// evaluation counted apart (f_E: demag + Zeeman torque; f_I: exchange torque; J v: one exchange field each, inside
/// GMRES or probing the preconditioner, 24 (blocks) or 54 (band) per step). Times are wall times of the solve alone.
/// </summary>
public sealed class StiffLlgBench : IBenchSuite
{
    public string Name => "llg stiff";

    private static State Film()
    {
        var state = new State(new Mesh(new[] { 64, 16, 1 }, new[] { 0.5e-9, 0.5e-9, 0.5e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.02;
        var x = state.Coordinates("nnn");
        double lx = 32e-9, ly = 8e-9;
        var mx = NTensor.OnesLike(x[0]);
        // Modulations with zero normal derivative at the edges (the exchange term's natural boundary condition), so
        // that the start excites the fast exchange modes only at the discretization's level.
        var my = (x[0] * (Math.PI / lx)).Cos() * 0.5;
        var mz = (x[1] * (Math.PI / ly)).Cos() * 0.3;
        var m = NTensor.Stack(-1, mx, my, mz);
        state["m"] = new VectorFunction(state, m / m.Norm(-1).Unsqueeze(-1));
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new ExternalField(new[] { -19576.05800030313, 3421.8312764757497, 0.0 }).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        new TotalField("exchange").Register(state, "impl");
        new TotalField("demag", "external").Register(state, "expl");
        return state;
    }

    public IEnumerable<BenchRow> Run(bool quick)
    {
        double t1 = quick ? 2e-12 : 20e-12;
        var reference = new LLGSolver(Film(), rtol: 1e-10, atol: 1e-10).Solve(t1);
        double Error(NTensor m) => (m - reference).Abs().Max().Item();
        var dp = new LLGSolver(Film());
        var sw = Stopwatch.StartNew();
        var mdp = dp.Solve(t1);
        double dpSeconds = sw.Elapsed.TotalSeconds;
        double dpError = Error(mdp);
        string baseline = $"Dormand–Prince rtol 1e-5: {dp.Evaluations} h evals, {dp.Integrator.AcceptedSteps} steps, err {dpError:E1}";
        var unpreconditioned = new ImplicitSolverOptions { Preconditioner = StagePreconditioner.None };
        // Where a KenCarp run's time goes: J v (probes and GMRES), the preconditioner (probing, band LU or block
        // inverses, applications), GMRES in all (its J v, applications and Gram–Schmidt); the rest is f_E, f_I and
        // the Runge–Kutta arithmetic.
        foreach (var (method, tol, options) in new[] { (ImplicitMethod.KenCarp5, 1e-5, (ImplicitSolverOptions?)null), (ImplicitMethod.KenCarp5, 1e-6, null), (ImplicitMethod.KenCarp5, 1e-5, new ImplicitSolverOptions { Preconditioner = StagePreconditioner.Banded }), (ImplicitMethod.KenCarp5, 1e-5, unpreconditioned) })
        {
            var llg = new LLGSolver(Film(), rtol: tol, atol: tol, implicitMethod: method, implicitOptions: options);
            sw.Restart();
            var m = llg.Solve(t1);
            double seconds = sw.Elapsed.TotalSeconds;
            var rk = (ImplicitRungeKutta)llg.Integrator;
            string parts = $"{rk.ExplicitEvaluations} f_E (demag+Zeeman), {rk.ImplicitEvaluations} f_I + {rk.JacobianVectorProducts} J v (exchange; {rk.PreconditionerProducts} of them probes), {rk.NewtonIterations} Newton iterations; time in J v {rk.JacobianProductTime.TotalSeconds:F1} s, preconditioner {rk.PreconditionerTime.TotalSeconds:F1} s (probing, LU, solves), GMRES {rk.KrylovTime.TotalSeconds:F1} s (all but probing)";
            double fewer = (double)dp.Evaluations / rk.ExplicitEvaluations;
            string newton = options is null ? "Newton defaults, block-Jacobi GMRES" : options.Preconditioner == StagePreconditioner.None ? "Newton defaults, GMRES without preconditioner" : $"Newton defaults, {options.Preconditioner} GMRES";
            yield return new BenchRow($"{method} rtol {tol:E0} ({newton}), {(quick ? 2 : 20)} ps: {parts}, {rk.AcceptedSteps}+{rk.RejectedSteps} steps, err {Error(m):E1}; {fewer:F1}x fewer demag evals",
                seconds, baseline, dpSeconds);
        }
    }
}
