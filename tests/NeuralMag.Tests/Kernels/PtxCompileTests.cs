using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NeuralMag.AD;
using NeuralMag.Kernels;

namespace NeuralMag.Tests.Kernels;

using State = NeuralMag.State;
using Device = NeuralMag.AD.Device;

/// <summary>
/// CUDA code generation without a GPU: ILGPU's CPU accelerator runs the kernels' IL directly and never exercises
/// the PTX code generator, so a kernel could pass every ilgpu-cpu test and still fail to compile for CUDA. This test
/// runs a workload that touches the kernels of the tensor primitives, the field terms (volume and interface), demag (open and true PBC) and an LLG step (both
/// dtypes) on ilgpu-cpu, then compiles every kernel that backend compiled with ILGPU's PTX backend for sm_80 and
/// sm_90 (no driver needed).
/// </summary>
[TestClass]
public sealed class PtxCompileTests
{
    private static void Workload(Device device, DType dtype)
    {
        var state = new State(new Mesh(new[] { 5, 4, 3 }, new[] { 2e-9, 2e-9, 2e-9 }), device, dtype);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 4e5;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["Di"] = 2e-3;
        state.Material["Di_axis"] = new[] { 0.0, 0, 1 };
        state.Material["alpha"] = 0.1;
        var rng = new Random(3);
        var raw = state.Tensor(Enumerable.Range(0, 6 * 5 * 4 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 6, 5, 4, 3 });
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "aniso");
        new InterfaceDMIField().Register(state, "dmi");
        new DemagField().Register(state, "demag");
        new ExternalField(new[] { 1e4, 0, 0 }).Register(state, "external");
        state.Material["iA"] = new Function(state, "ccn").Fill(1e-3);
        new InterlayerExchangeField(0, 2).Register(state, "iexchange");
        new TotalField("exchange", "aniso", "dmi", "demag", "external", "iexchange").Register(state);
        new LLGSolver(state).Step(1e-13);
        // Energies on the device: the bilinear demag/Zeeman energy and the cells' energies per unit rho of dE/d rho.
        _ = state.Tensor("E").Item();
        var exchangeEnergy = state.Resolve("E_exchange", new[] { "m", "rho" });
        _ = Autodiff.Grads(x => exchangeEnergy.Invoke(x))(new[] { state.M.Tensor, state.Tensor("rho") });
        // True-PBC demag: the projector's spectral product.
        var periodic = new State(new Mesh(new[] { 4, 4, 2 }, new[] { 2e-9, 2e-9, 2e-9 }, pbc: new Pbc[] { true, true, true }), device, dtype);
        periodic.Material["Ms"] = 8e5;
        periodic["m"] = new VectorFunction(periodic, raw[..4, ..4, ..2] / raw[..4, ..4, ..2].Norm(-1).Unsqueeze(-1));
        new DemagField().Register(periodic);
        _ = periodic.Tensor("h_demag").Sum().Item();
        var m = state.M.Tensor;
        _ = (m.Sum(0).Max(-1).Min() + m[1, .., .., 2].Mean() + NTensor.Where(m.Gt(0.0), m, -m).Sum()).Item();
        using var tape = new Tape();
        var w = tape.Watch(m);
        var loss = (NTensor.Cross(w, w * 2.0).Square().Sum() + w[.., 0].Exp().Sum());
        _ = tape.Gradient(loss, new[] { w });
    }

    [TestMethod]
    public void EveryKernelCompilesToPtxForSm80AndSm90()
    {
        var device = TestDevices.GetOrSkip("ilgpu-cpu");
        Workload(device, DType.Float64);
        Workload(device, DType.Float32);
        var backend = (IlgpuBackend)device.Backend;
        var kernels = backend.CompiledKernels.ToArray();
        Assert.IsTrue(kernels.Length >= 20, $"the workload compiled {kernels.Length} kernels");
        var failures = new List<string>();
        using var context = Context.Create(b => b.Default().EnableAlgorithms());
        foreach (var (arch, isa) in new[] { (CudaArchitecture.SM_80, CudaInstructionSet.ISA_80), (CudaArchitecture.SM_90, CudaInstructionSet.ISA_80) })
        {
            using var ptx = new PTXBackend(context, new CudaCapabilityContext(arch), arch, isa, null);
            foreach (var kernel in kernels)
            {
                try
                {
                    var entry = EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
                    var specialization = KernelSpecialization.Empty;
                    var compiled = (PTXCompiledKernel)ptx.Compile(entry, specialization);
                    if (string.IsNullOrWhiteSpace(compiled.PTXAssembly) || !compiled.PTXAssembly.Contains(".entry"))
                        failures.Add($"{arch}: {Describe(kernel)} gave no PTX entry");
                }
                catch (Exception e)
                {
                    failures.Add($"{arch}: {Describe(kernel)}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        Console.WriteLine($"{kernels.Length} kernels compiled to PTX for sm_80 and sm_90; failures: {failures.Count}");
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures));
    }

    private static string Describe(System.Reflection.MethodInfo m) =>
        $"{m.DeclaringType?.Name}.{m.Name}{(m.IsGenericMethod ? "<" + string.Join(", ", m.GetGenericArguments().Select(t => t.Name)) + ">" : "")}";
}
