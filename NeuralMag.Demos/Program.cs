using System.Globalization;
using NeuralMag.AD;
using NeuralMag.Demos;

// Entry point: `dotnet run --project NeuralMag.Demos -- <demo> [--quick] [--out DIR] [--device cpu|cuda|opencl] [--dtype float64|float32]`.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return DemoRunner.Run(args);

namespace NeuralMag.Demos
{
    /// <summary>A runnable demo. Implementations are found by reflection: adding a demo is adding a class.</summary>
    public interface IDemo
    {
        /// <summary>Command-line name, e.g. "standard-problem-4".</summary>
        string Name { get; }
        string Description { get; }
        /// <summary>Runs the demo; returns the process exit code (0 when the result passed its check).</summary>
        int Run(DemoOptions options);
    }

    /// <summary>Options common to all demos.</summary>
    public sealed record DemoOptions(bool Quick, string OutputDirectory, string[] Arguments)
    {
        /// <summary>Creates (if needed) and returns the demo's output folder.</summary>
        public string OutputFor(string demo)
        {
            var dir = Path.Combine(OutputDirectory, demo);
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public static class DemoRunner
    {
        /// <summary>The demo run when no name is given.</summary>
        public const string MainDemo = "standard-problem-4";

        public static IReadOnlyList<IDemo> All() => typeof(DemoRunner).Assembly.GetTypes()
            .Where(t => typeof(IDemo).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IDemo)Activator.CreateInstance(t)!)
            .OrderBy(d => d.Name, StringComparer.Ordinal)
            .ToList();

        public static int Run(string[] args)
        {
            var list = args.ToList();
            bool quick = Take(list, "--quick");
            var outDir = TakeValue(list, "--out") ?? "out";
            if (TakeValue(list, "--device") is { } dev) Config.SetDevice(dev);
            if (TakeValue(list, "--dtype") is { } dt) Config.DType = DTypeExtensions.Parse(dt);
            if (list.Count > 0 && list[0] is "--help" or "-h" or "help")
            {
                Usage();
                return 0;
            }
            var demos = All();
            var name = list.Count > 0 ? list[0] : MainDemo;
            var demo = demos.FirstOrDefault(d => d.Name == name);
            if (demo == null)
            {
                Console.Error.WriteLine($"Unknown demo '{name}'.");
                Usage();
                return 2;
            }
            Console.WriteLine($"[NeuralMag] demo {demo.Name} on {Config.Device} ({Config.DType.Name()}){(quick ? ", quick mode" : "")}");
            return demo.Run(new DemoOptions(quick, outDir, list.Skip(1).ToArray()));
        }

        private static void Usage()
        {
            Console.WriteLine("usage: NeuralMag.Demos <demo> [--quick] [--out DIR] [--device cpu|cuda|opencl] [--dtype float64|float32]");
            Console.WriteLine("demos:");
            foreach (var d in All()) Console.WriteLine($"  {d.Name,-32} {d.Description}");
        }

        private static bool Take(List<string> args, string flag) => args.Remove(flag);

        private static string? TakeValue(List<string> args, string flag)
        {
            int i = args.IndexOf(flag);
            if (i < 0) return null;
            if (i + 1 >= args.Count) throw new ArgumentException($"{flag} needs a value.");
            var v = args[i + 1];
            args.RemoveRange(i, 2);
            return v;
        }
    }
}
