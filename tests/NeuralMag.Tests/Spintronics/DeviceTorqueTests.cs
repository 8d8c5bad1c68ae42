using NeuralMag.AD;

namespace NeuralMag.Tests.Spintronics;

[TestClass]
public sealed class DeviceTorqueTests
{
    /// <summary>A strip with every torque term and a thermal field, on <paramref name="device"/>.</summary>
    private static NeuralMag.State Driven(Device device)
    {
        var state = SpintronicsSetup.Strip(0.1, cells: 10, x0: 10e-9, device: device);
        state["j"] = new[] { 1e12, 0, 2e11 };
        state["j_sot"] = 5e11;
        state["T"] = 300.0;
        state.Material["P"] = 0.6;
        state.Material["xi"] = 0.05;
        state.Material["p"] = new[] { 0.0, 0, 1 };
        state.Material["Lambda"] = 2.0;
        state.Material["eps_prime"] = 0.1;
        state.Material["d"] = 2e-9;
        state.Material["p_sot"] = new[] { 0.0, 1, 0 };
        state.Material["eta_damp"] = 0.2;
        state.Material["eta_field"] = 0.05;
        new ZhangLiTorque().Register(state);
        new SlonczewskiTorque().Register(state);
        new SpinOrbitTorque().Register(state);
        new ThermalField().Register(state);
        return state;
    }

    [TestMethod]
    [DoNotParallelize] // allocating on the shared ilgpu-cpu device drains its release queue, which IlgpuDeviceTests inspects
    public void TorquesAndAStochasticRunOnIlgpuCpuMatchTheCpuDevice()
    {
        // The torque terms are tensor operations, so they run on any device; the noise is drawn on the host and copied.
        var device = TestDevices.GetOrSkip("ilgpu-cpu");
        var cpu = Driven(Device.Cpu);
        var dev = Driven(device);
        var a = cpu.Tensor("dmdt").ToArray();
        var b = dev.Tensor("dmdt").ToArray();
        double scale = a.Max(Math.Abs);
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], 1e-12 * scale, $"dmdt[{i}]");
        new StochasticLLGSolver(cpu, 1e-13, 9).Step(1e-13);
        new StochasticLLGSolver(dev, 1e-13, 9).Step(1e-13);
        var ma = cpu.M.Tensor.ToArray();
        var mb = dev.M.Tensor.ToArray();
        for (int i = 0; i < ma.Length; i++) Assert.AreEqual(ma[i], mb[i], 1e-12, $"m[{i}]");
    }
}
