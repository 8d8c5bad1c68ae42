using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// Per-call overhead of State.Resolve: a resolved two-level chain (T -> Ms(T) -> E(Ms)) against calling the same
/// two lambdas by hand, a state read of the dynamic attribute (which also fetches T from the store), and a read of
/// the density rho (a Function whose tensor is a lambda of the domain attributes).
/// Scalars keep the arithmetic tiny so the numbers are dominated by dispatch.
/// </summary>
public sealed class StateBench : IBenchSuite
{
    public string Name => "state";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        int calls = quick ? 2_000 : 20_000;
        var state = new State(new Mesh(new[] { 4, 4, 4 }, new[] { 1e-9, 1e-9, 1e-9 }));
        double Ms0 = 8e5, Tc = 400.0;
        Func<NTensor, NTensor> ms = T => Ms0 * (1 - T / Tc).Pow(1.5);
        Func<NTensor, NTensor> energy = material__Ms => material__Ms.Square();
        state["T"] = 200.0;
        state.Material["Ms"] = ms;
        state["E"] = energy;
        var resolved = state.Resolve("E", new[] { "T" });
        // A new T tensor on every call (as in a sweep), so the plan cannot reuse Ms(T); and the same T, where it does.
        var temperatures = Enumerable.Range(0, 16).Select(i => state.Scalar(200.0 + i)).ToArray();
        var T = temperatures[0];

        double direct = BenchTimer.Median(() => { for (int i = 0; i < calls; i++) energy(ms(temperatures[i & 15])); }) / calls;
        double viaResolve = BenchTimer.Median(() => { for (int i = 0; i < calls; i++) resolved.Invoke(temperatures[i & 15]); }) / calls;
        double reused = BenchTimer.Median(() => { for (int i = 0; i < calls; i++) resolved.Invoke(T); }) / calls;
        double viaRead = BenchTimer.Median(() => { for (int i = 0; i < calls; i++) state.Tensor("E"); }) / calls;
        yield return new BenchRow("resolved E(Ms(T)), new T each call, per call", viaResolve, "lambdas called directly", direct);
        yield return new BenchRow("resolved E(Ms(T)), same T (Ms(T) reused), per call", reused, "lambdas called directly", direct);
        yield return new BenchRow("state.Tensor(\"E\") read (stored T, Ms(T) reused), per call", viaRead, "lambdas called directly", direct);

        // rho: a cell Function defined by a lambda of domain(domains), read as field terms read it (4x4x4 cells)
        var domains = state.Tensor("domains");
        var eps = state.Scalar(state.Eps);
        double rhoDirect = BenchTimer.Median(() => { for (int i = 0; i < calls; i++) NTensor.Where(domains.Gt(0.0), NTensor.OnesLike(eps), eps); }) / calls;
        double rhoRead = BenchTimer.Median(() => { for (int i = 0; i < calls; i++) state.Tensor("rho"); }) / calls;
        yield return new BenchRow("state.Tensor(\"rho\") read (Function of a lambda), per call", rhoRead, "where(domains > 0, 1, eps) directly", rhoDirect);
    }
}
