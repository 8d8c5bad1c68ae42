#!/usr/bin/env dotnet
// A Stoner-Wohlfarth hysteresis loop with the energy minimizer: a uniformly magnetized particle with uniaxial
// anisotropy along z in a field at 30 degrees to that axis, swept from +1.5 H_K to -1.5 H_K and back; m is the
// energy minimum reached from the previous one at each field. The particle switches where its local minimum
// disappears, at h_sw = H_K / (cos^(2/3) psi + sin^(2/3) psi)^(3/2) = 0.5240 H_K for psi = 30 degrees (the astroid).
//   dotnet run examples/hysteresis.cs [-- --quick]     (after `dotnet pwsh ./build.ps1 pack`)
// Exit code 1 when a switching field is farther from the astroid's than one field step.
#:package NeuralMag.State@0.1.0
#:property PublishAot=false

using NeuralMag;

bool quick = args.Contains("--quick") || Environment.GetEnvironmentVariable("NM_QUICK") == "1";
const double Ms = 8e5, Ku = 1e5, psi = Math.PI / 6;
double hk = 2 * Ku / (Constants.Mu0 * Ms);
double step = quick ? 0.05 : 0.01;   // field step in units of H_K
var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 5e-9, 5e-9, 5e-9 }));
state.Material["Ms"] = Ms;
state.Material["Ku"] = Ku;
state.Material["Ku_axis"] = new[] { 0.0, 0.0, 1.0 };
state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0.0, 1.0 });
new UniaxialAnisotropyField().Register(state, "aniso");
new ExternalField(new double[3]).Register(state, "external");
new TotalField("aniso", "external").Register(state);

int count = (int)Math.Round(3.0 / step);
var sweep = Enumerable.Range(0, count + 1).Select(i => 1.5 - i * step)
    .Concat(Enumerable.Range(1, count).Select(i => -1.5 + i * step)).ToArray();
var loop = new List<(double H, double M, double Mz)>();
foreach (double h in sweep)
{
    state["h_external"] = new VectorFunction(state).Fill(new[] { h * hk * Math.Sin(psi), 0.0, h * hk * Math.Cos(psi) });
    new EnergyMinimizer(state, tol: 1e-3 * hk * 1e-3, maxIter: 20000).Minimize();
    var m = state.M.Avg().ToArray();
    loop.Add((h, m[0] * Math.Sin(psi) + m[2] * Math.Cos(psi), m[2]));   // m along the field direction, and m_z
}

double expected = 1 / Math.Pow(Math.Pow(Math.Cos(psi), 2.0 / 3) + Math.Pow(Math.Sin(psi), 2.0 / 3), 1.5);
// Switching: the first field of a branch at which m_z (the easy axis) has the opposite sign of the branch's start.
double Switch(int from, int to)
{
    for (int i = from; i < to; i++)
        if (Math.Sign(loop[i].Mz) != Math.Sign(loop[from].Mz)) return loop[i].H;
    return double.NaN;
}
double down = Switch(0, count + 1), up = Switch(count, loop.Count);
foreach (var (h, mh, _) in loop.Where((_, i) => i % (quick ? 6 : 30) == 0)) Console.WriteLine($"H/H_K = {h,6:F2}  m.h_dir = {mh,8:F4}");
Console.WriteLine($"switching fields: {down:F3} H_K (down), {up:F3} H_K (up); astroid: -/+{expected:F4} H_K, field step {step} H_K");
bool ok = Math.Abs(down + expected) <= step + 1e-9 && Math.Abs(up - expected) <= step + 1e-9;
Console.WriteLine(ok ? "PASS" : "FAIL");
return ok ? 0 : 1;
