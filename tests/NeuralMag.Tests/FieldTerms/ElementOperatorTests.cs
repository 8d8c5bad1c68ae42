using NeuralMag.AD;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// The element-operator fast path against the generic dual-number assembler, and the field's vector-Jacobian products
/// with respect to every input (material parameters, Ms, rho, m) against central differences.
/// </summary>
[TestClass]
public sealed class ElementOperatorTests
{
    private static State NewState(int[] n, Pbc[] pbc, int seed)
    {
        var dx = new[] { 2e-9, 3e-9, 2.5e-9 };
        var state = new State(new Mesh(n, dx, pbc: pbc), Device.Cpu, DType.Float64);
        var rng = new Random(seed);
        var nodes = state.Mesh.NodeCounts;
        int nn = nodes.Aggregate(1, (a, b) => a * b);
        var raw = NTensor.FromArray(Enumerable.Range(0, nn * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), nodes.Append(3).ToArray());
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        int nc = n.Aggregate(1, (a, b) => a * b);
        // Two materials (so several element operators) and a rho with holes.
        NTensor Cells(double v1, double v2) => NTensor.FromArray(Enumerable.Range(0, nc).Select(c => c % 3 == 0 ? v2 : v1).ToArray(), n);
        state.Material["Ms"] = new CellFunction(state, tensor: Cells(8e5, 6e5));
        state.Material["A"] = new CellFunction(state, tensor: Cells(1.3e-11, 0.9e-11));
        state.Material["Ku"] = new CellFunction(state, tensor: Cells(4e5, -1e5));
        state.Material["Ku_axis"] = new VectorCellFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state.Material["Kc"] = new CellFunction(state, tensor: Cells(5e4, 2e4));
        state.Material["Kc_axis1"] = new[] { 1.0, 0, 0 };
        state.Material["Kc_axis2"] = new[] { 0.0, 0.6, 0.8 };
        state.Material["Kc_axis3"] = new[] { 0.0, -0.8, 0.6 };
        state.Material["Db"] = new CellFunction(state, tensor: Cells(3e-3, -1e-3));
        state.Material["Di"] = new CellFunction(state, tensor: Cells(2e-3, 1e-3));
        state.Material["Di_axis"] = new[] { 0, 0, 1.0 };
        state["rho"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, nc).Select(_ => 0.5 + rng.NextDouble()).ToArray(), n));
        return state;
    }

    private static FieldTerm Term(string name, bool operators) => name switch
    {
        "exchange" => new ExchangeField { ElementOperators = operators },
        "uaniso" => new UniaxialAnisotropyField { ElementOperators = operators },
        "caniso" => new CubicAnisotropyField { ElementOperators = operators },
        "bdmi" => new BulkDMIField { ElementOperators = operators },
        "idmi" => new InterfaceDMIField { ElementOperators = operators },
        _ => throw new ArgumentException(name),
    };

    private static double MaxRelative(NTensor a, NTensor b)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        double scale = y.Max(Math.Abs), err = 0;
        for (int i = 0; i < x.Length; i++) err = Math.Max(err, Math.Abs(x[i] - y[i]));
        return scale == 0 ? err : err / scale;
    }

    [TestMethod]
    [DataRow("exchange", "3d")]
    [DataRow("exchange", "3d-periodic")]
    [DataRow("exchange", "2d")]
    [DataRow("exchange", "1d-periodic")]
    [DataRow("uaniso", "3d-periodic")]
    [DataRow("uaniso", "2d")]
    [DataRow("bdmi", "3d-periodic")]
    [DataRow("idmi", "2d")]
    [DataRow("idmi", "3d")]
    [DataRow("caniso", "3d")]
    public void ElementOperatorsMatchTheGenericAssembler(string term, string grid)
    {
        (int[] n, Pbc[] pbc) = grid switch
        {
            "3d" => (new[] { 5, 4, 3 }, new Pbc[] { false, false, false }),
            "3d-periodic" => (new[] { 5, 4, 2 }, new Pbc[] { true, false, true }),
            "2d" => (new[] { 6, 5 }, new Pbc[] { false, true }),
            _ => (new[] { 7 }, new Pbc[] { true }),
        };
        var fast = NewState(n, pbc, 3);
        var generic = NewState(n, pbc, 3);
        Term(term, true).Register(fast, term);
        Term(term, false).Register(generic, term);
        Assert.IsTrue(MaxRelative(fast.Tensor("h_" + term), generic.Tensor("h_" + term)) < 1e-13, "h");
        Assert.AreEqual(generic.Tensor("E_" + term).Item(), fast.Tensor("E_" + term).Item(), 1e-13 * Math.Abs(generic.Tensor("E_" + term).Item()), "E");
    }

    private static void CheckVjp(Func<NTensor, NTensor> f, NTensor x, string what)
    {
        var g = Autodiff.Grad(f)(x).ToArray();
        var xd = x.ToArray();
        double scale = g.Max(Math.Abs);
        Assert.IsTrue(scale > 0, $"{what}: the gradient is identically zero");
        for (int k = 0; k < xd.Length; k += Math.Max(1, xd.Length / 13))
        {
            double h = 1e-5 * Math.Max(Math.Abs(xd[k]), 1e-3);
            var p = (double[])xd.Clone(); p[k] += h;
            var q = (double[])xd.Clone(); q[k] -= h;
            double fd = (f(NTensor.FromArray(p, x.GetShape())).Item() - f(NTensor.FromArray(q, x.GetShape())).Item()) / (2 * h);
            Assert.AreEqual(fd, g[k], 1e-6 * scale, $"{what}: element {k}");
        }
    }

    [TestMethod]
    [DataRow("exchange", "material__A")]
    [DataRow("exchange", "material__Ms")]
    [DataRow("exchange", "rho")]
    [DataRow("uaniso", "material__Ku")]
    [DataRow("uaniso", "material__Ku_axis")]
    [DataRow("uaniso", "rho")]
    [DataRow("caniso", "material__Kc")]
    [DataRow("caniso", "material__Kc_axis2")]
    [DataRow("caniso", "m")]
    [DataRow("caniso", "rho")]
    [DataRow("bdmi", "material__Db")]
    [DataRow("idmi", "material__Di")]
    [DataRow("idmi", "material__Di_axis")]
    public void FieldVjpWithRespectToEveryInputMatchesFiniteDifferences(string term, string input)
    {
        var state = NewState(new[] { 4, 3, 2 }, new Pbc[] { false, true, false }, 7);
        if (input == "material__Ku_axis") state.Material["Ku_axis"] = new VectorCellFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        if (input == "material__Kc_axis2") state.Material["Kc_axis2"] = new VectorCellFunction(state).Fill(new[] { 0.0, 0.6, 0.8 });
        if (input == "material__Di_axis") state.Material["Di_axis"] = new VectorCellFunction(state).Fill(new[] { 0.0, 0, 1 });
        Term(term, true).Register(state, term);
        var h = state.Resolve("h_" + term, new[] { input });
        var x = state.Tensor(input);
        var shape = state.Tensor("h_" + term).GetShape();
        var w = NTensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => Math.Sin(0.7 * i)).ToArray(), shape);
        CheckVjp(v => (h.Invoke(v) * w).Sum(), x, $"h_{term} w.r.t. {input}");
    }

    [TestMethod]
    [DataRow("float64")]
    [DataRow("float32")]
    public void ConcurrentFieldEvaluationsGiveTheSerialResults(string dtypeName)
    {
        // The operator's caches and pooled float32 buffers must not mix calls made from several threads.
        var dtype = DTypeExtensions.Parse(dtypeName);
        var state = new State(new Mesh(new[] { 12, 10, 4 }, new[] { 2e-9, 2e-9, 2e-9 }), Device.Cpu, dtype);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        var hEx = state.Resolve("h_exchange", new[] { "m" });
        var hDemag = state.Resolve("h_demag", new[] { "m" });
        var ms = Enumerable.Range(0, 16).Select(k =>
        {
            var rng = new Random(k);
            var raw = NTensor.FromArray(Enumerable.Range(0, 13 * 11 * 5 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 13, 11, 5, 3 }, dtype);
            return raw / raw.Norm(-1).Unsqueeze(-1);
        }).ToArray();
        var serial = ms.Select(m => (hEx.Invoke(m).ToArray(), hDemag.Invoke(m).ToArray())).ToArray();
        var parallel = new (double[], double[])[ms.Length];
        Parallel.For(0, ms.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k => parallel[k] = (hEx.Invoke(ms[k]).ToArray(), hDemag.Invoke(ms[k]).ToArray()));
        for (int k = 0; k < ms.Length; k++)
        {
            CollectionAssert.AreEqual(serial[k].Item1, parallel[k].Item1, $"exchange, m #{k}");
            CollectionAssert.AreEqual(serial[k].Item2, parallel[k].Item2, $"demag, m #{k}");
        }
    }
}
