#!/usr/bin/env dotnet
// Topology optimization (the inverse-design loop of NeuralMag's dynamic-attributes guide): the density rho_m of a
// magnet block is changed by projected gradient steps to maximize the squared z stray field at a probe above it.
// State.Resolve("h_demag", ["rho_m"]) turns the demag field into a plain function of the design; the tape
// differentiates it; rho_m^3 penalizes intermediate densities; each step clips rho_m to [eps, 1].
//   dotnet run examples/topology_optimization.cs [-- --quick]     (after `dotnet pwsh ./build.ps1 pack`)
// Exit code 1 unless the objective decreases at every step.
#:package NeuralMag.State@0.1.0
#:property PublishAot=false

using NeuralMag;
using NeuralMag.AD;

bool quick = args.Contains("--quick") || Environment.GetEnvironmentVariable("NM_QUICK") == "1";
int n = quick ? 10 : 20, nz = quick ? 6 : 12, magnetTop = nz - 2, steps = quick ? 15 : 100;
var state = new State(new Mesh(new[] { n, n, nz }, new[] { 5e-9, 5e-9, 5e-9 }));
state.Material["Ms"] = 1.0;
state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0.0, 1.0 });
state["rho_m"] = new CellFunction(state, name: "rho_m").Fill(1.0);
// The top two cell layers are air whatever the design says.
state["rho"] = new CellFunction(state, tensor: (NTensor rho_m) => rho_m.IndexPut(new Ix[] { .., .., magnetTop.. }, state.Scalar(state.Eps)));
new DemagField().Register(state, "demag");

var demag = state.Resolve("h_demag", new[] { "rho_m" });
int c = n / 2;
var lossAndGrad = Autodiff.ValueAndGrad((NTensor rho) => -demag.Invoke(rho.Pow(3))[c, c, nz, 2].Square());

const double learningRate = 1e3;
var rhoM = state.GetFunction("rho_m");
var losses = new List<double>();
for (int step = 0; step < steps; step++)
{
    var (loss, grad) = lossAndGrad(rhoM.Tensor);
    losses.Add(loss.Item());
    rhoM.Tensor = (rhoM.Tensor - grad * learningRate).Clamp(state.Eps, 1.0);
    if (step % 10 == 0 || step == steps - 1) Console.WriteLine($"step {step,3}: -h_z^2 = {loss.Item():E6} (A/m)^2");
}

bool monotone = losses.Zip(losses.Skip(1), (a, b) => b <= a + 1e-12 * Math.Abs(a)).All(x => x);
double filled = rhoM.Tensor.ToArray().Count(v => v > 0.5) / (double)rhoM.Tensor.ToArray().Length;
Console.WriteLine($"h_z at the probe: {Math.Sqrt(-losses[0]):E4} -> {Math.Sqrt(-losses[^1]):E4} A/m; {filled:P1} of the cells keep rho_m > 0.5");
Console.WriteLine($"objective decreases at every step: {(monotone && losses[^1] < losses[0] ? "PASS" : "FAIL")}");
return monotone && losses[^1] < losses[0] ? 0 : 1;
