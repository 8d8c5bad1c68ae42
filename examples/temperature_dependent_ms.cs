#!/usr/bin/env dotnet
// A temperature-dependent saturation magnetization as a lambda of another state attribute, Ms(T) = Ms0 (1 - T/Tc)^1.5,
// and derivatives with respect to T through State.Resolve and the tape: dMs/dT, and dE_demag/dT of a film whose
// demag energy follows Ms(T). Both are printed beside their analytic values: dMs/dT = -1.5 Ms0/Tc (1 - T/Tc)^0.5 and,
// since E_demag is proportional to Ms^2, dE_demag/dT = 2 E_demag/Ms dMs/dT.
//   dotnet run examples/temperature_dependent_ms.cs [-- --quick]     (after `dotnet pwsh ./build.ps1 pack`)
// Exit code 1 when a tape derivative differs from the analytic one by more than 1e-10 (relative).
#:package NeuralMag.State@0.1.0
#:property PublishAot=false

using NeuralMag;
using NeuralMag.AD;

bool quick = args.Contains("--quick") || Environment.GetEnvironmentVariable("NM_QUICK") == "1";
const double Ms0 = 8e5, Tc = 600.0;
int n = quick ? 8 : 20;
var state = new State(new Mesh(new[] { n, n, 1 }, new[] { 5e-9, 5e-9, 3e-9 }));
state["T"] = 300.0;
state.Material["Ms"] = (NTensor T) => Ms0 * (1.0 - T / Tc).Pow(1.5);
// A tilted, non-uniform unit magnetization (the derivative check holds for any m).
var nodes = state.Coordinates("nnn");
var phi = nodes[0] * (Math.PI / (n * 5e-9));
var mx = phi.Cos() * 0.8;
state["m"] = new VectorFunction(state, NTensor.Stack(-1, mx, phi.Sin() * 0.8, (mx * 0 + 0.6)));
new DemagField().Register(state, "demag");

var msOfT = state.Resolve("material__Ms", new[] { "T" });
var eOfT = state.Resolve("E_demag", new[] { "T" });
var dMsdT = Autodiff.ValueAndGrad((NTensor T) => msOfT.Invoke(T).Mean());   // Ms is uniform: its mean is Ms(T)
var dEdT = Autodiff.ValueAndGrad((NTensor T) => eOfT.Invoke(T));

double worst = 0;
Console.WriteLine("    T (K)   Ms (A/m)     dMs/dT tape     dMs/dT analytic   dE/dT tape (J/K)  dE/dT analytic");
foreach (double T in quick ? new[] { 100.0, 300.0, 500.0 } : new[] { 0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 590.0 })
{
    var (ms, gMs) = dMsdT(state.Scalar(T));
    var (e, gE) = dEdT(state.Scalar(T));
    double exactMs = -1.5 * Ms0 / Tc * Math.Sqrt(1.0 - T / Tc);
    double exactE = 2.0 * e.Item() / ms.Item() * exactMs;
    worst = Math.Max(worst, Math.Max(Math.Abs(gMs.Item() / exactMs - 1), Math.Abs(gE.Item() / exactE - 1)));
    Console.WriteLine($"{T,9:F1} {ms.Item(),10:F1} {gMs.Item(),16:E9} {exactMs,16:E9} {gE.Item(),17:E9} {exactE,16:E9}");
}
bool ok = worst < 1e-10;
Console.WriteLine($"largest relative difference tape vs analytic: {worst:E2} (< 1e-10): {(ok ? "PASS" : "FAIL")}");
return ok ? 0 : 1;
