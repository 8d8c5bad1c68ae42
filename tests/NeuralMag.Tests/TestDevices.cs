using NeuralMag.AD;

namespace NeuralMag.Tests;

/// <summary>ILGPU devices for tests: created once per process; a kind this machine lacks makes the test inconclusive (skipped).</summary>
internal static class TestDevices
{
    private static readonly Dictionary<string, Device?> Created = new();

    /// <summary>The device named <paramref name="name"/> ("ilgpu-cpu", "cuda", "opencl"), or a skip when it is absent.</summary>
    public static Device GetOrSkip(string name)
    {
        lock (Created)
        {
            if (!Created.TryGetValue(name, out var d))
            {
                try { d = DeviceRegistry.Get(name); }
                catch (NotSupportedException) { d = null; }
                Created[name] = d;
            }
            return d ?? throw new AssertInconclusiveException($"No {name} device on this machine.");
        }
    }
}
