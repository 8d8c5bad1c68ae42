using System.Globalization;
using NeuralMag.AD;
using NeuralMag.Demos;

// Entry point: `dotnet run --project NeuralMag.Demos -- [<demo>] [--quick] [--out DIR] [--device cpu|cuda|opencl] [--dtype float64|float32] [demo options]`.
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

        /// <summary>Options this demo accepts besides the common ones (--quick, --out, --device, --dtype, --help); others are errors.</summary>
        IReadOnlyList<DemoFlag> Flags => Array.Empty<DemoFlag>();

        /// <summary>How the demo's positional arguments read in the usage (e.g. "&lt;path&gt;..."); null when it takes none.</summary>
        string? Positional => null;

        /// <summary>The demo's help text (printed for <c>&lt;demo&gt; --help</c>).</summary>
        string Usage => DemoRunner.DefaultUsage(this);

        /// <summary>Runs the demo; returns the process exit code (0 when the result passed its check).</summary>
        int Run(DemoOptions options);
    }

    /// <summary>
    /// An option of one demo: <paramref name="Name"/> (e.g. "--field"); <paramref name="Value"/> names its value in the
    /// usage (null for a switch without a value); <paramref name="Choices"/>, when given, are the only values accepted.
    /// </summary>
    public sealed record DemoFlag(string Name, string? Value, string Description, IReadOnlyList<string>? Choices = null);

    /// <summary>
    /// Bad command-line input: the runner prints "error: " + the message and the usage, and exits with code 2.
    /// </summary>
    public sealed class CommandLineException(string message) : Exception(message);

    /// <summary>Options common to all demos, plus the demo's own arguments (checked against its <see cref="IDemo.Flags"/>).</summary>
    /// <param name="Quick">--quick: a shorter run.</param>
    /// <param name="OutputDirectory">--out: the folder under which each demo writes into a subfolder named after it.</param>
    /// <param name="Arguments">The demo's own arguments in command-line order (options, their values, positional arguments).</param>
    public sealed record DemoOptions(bool Quick, string OutputDirectory, string[] Arguments)
    {
        /// <summary>The demo's options that were given: flag name to value (null for a switch).</summary>
        public IReadOnlyDictionary<string, string?> Given { get; init; } = new Dictionary<string, string?>();

        /// <summary>The demo's positional arguments.</summary>
        public IReadOnlyList<string> Positional { get; init; } = Array.Empty<string>();

        /// <summary>Whether the option was given.</summary>
        public bool Has(string flag) => Given.ContainsKey(flag);

        /// <summary>The value of the option, or <paramref name="fallback"/> when it was not given.</summary>
        public string? Value(string flag, string? fallback = null) => Given.TryGetValue(flag, out var v) ? v : fallback;

        /// <summary>Creates (if needed) and returns the demo's output folder.</summary>
        /// <exception cref="CommandLineException">The folder cannot be created (a file in the way, no permission).</exception>
        public string OutputFor(string demo)
        {
            var dir = Path.Combine(OutputDirectory, demo);
            try { Directory.CreateDirectory(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CommandLineException($"--out {OutputDirectory}: cannot create the output folder '{dir}' ({OneLine(e.Message)}).");
            }
            return dir;
        }

        internal static string OneLine(string s) => s.Replace('\r', ' ').Replace('\n', ' ');
    }

    /// <summary>
    /// The command line: <c>[&lt;demo&gt;] [--quick] [--out DIR] [--device NAME] [--dtype NAME] [demo options]</c>.
    /// Every argument is checked before anything runs: unknown options, missing or invalid values, an unusable output
    /// folder, device or dtype (from the options or NM_DEVICE / NM_DTYPE) are reported as one "error: ..." line plus
    /// the usage on standard error, exit code 2. The demo's exit code is returned otherwise.
    /// </summary>
    public static class DemoRunner
    {
        /// <summary>The demo run when no name is given.</summary>
        public const string MainDemo = "standard-problem-4";

        /// <summary>Exit code for bad command-line input.</summary>
        public const int UsageError = 2;

        private const string CommonUsage = "[--quick] [--out DIR] [--device cpu|cuda|opencl] [--dtype float64|float32]";
        private static readonly string[] HelpFlags = { "--help", "-h" };
        private static readonly string[] CommonSwitches = { "--quick" };
        private static readonly string[] CommonValueFlags = { "--out", "--device", "--dtype" };

        /// <summary>Every demo of this assembly, by name.</summary>
        public static IReadOnlyList<IDemo> All() => typeof(DemoRunner).Assembly.GetTypes()
            .Where(t => typeof(IDemo).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IDemo)Activator.CreateInstance(t)!)
            .OrderBy(d => d.Name, StringComparer.Ordinal)
            .ToList();

        /// <summary>Runs the command line with the process's console and environment.</summary>
        public static int Run(string[] args) => Run(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

        /// <summary>
        /// Runs the command line, writing the runner's own lines to <paramref name="stdout"/> / <paramref name="stderr"/>
        /// and reading NM_DEVICE / NM_DTYPE through <paramref name="environment"/>. <see cref="Config"/> is changed only
        /// after every argument has been checked.
        /// </summary>
        public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
        {
            ArgumentNullException.ThrowIfNull(args);
            Invocation call;
            IDemo? demo = null;
            try
            {
                call = Parse(args, environment, d => demo = d);
            }
            catch (CommandLineException e)
            {
                stderr.WriteLine($"error: {DemoOptions.OneLine(e.Message)}");
                stderr.WriteLine(demo == null ? GeneralUsage(withDemos: false) : DefaultUsage(demo));
                return UsageError;
            }
            if (call.Help)
            {
                stdout.WriteLine(call.Demo == null ? GeneralUsage() : call.Demo.Usage);
                return 0;
            }
            Config.Device = call.Device!;
            Config.DType = call.DType;
            var options = call.Options!;
            stdout.WriteLine($"[NeuralMag] demo {call.Demo!.Name} on {Config.Device} ({Config.DType.Name()}){(options.Quick ? ", quick mode" : "")}");
            try { return call.Demo.Run(options); }
            catch (CommandLineException e)
            {
                stderr.WriteLine($"error: {DemoOptions.OneLine(e.Message)}");
                return UsageError;
            }
        }

        private sealed record Invocation(bool Help, IDemo? Demo, DemoOptions? Options, Device? Device, DType DType);

        private static Invocation Parse(string[] args, Func<string, string?> environment, Action<IDemo> found)
        {
            var demos = All();
            // The demo is the first argument naming one (not the value of a common option); without one, the main demo.
            int named = -1;
            for (int i = 0; i < args.Length; i++)
                if (demos.Any(d => d.Name == args[i]) && (i == 0 || !CommonValueFlags.Contains(args[i - 1]))) { named = i; break; }
            bool help = args.Length > 0 && args[0] == "help";
            var demo = named >= 0 ? demos.First(d => d.Name == args[named]) : null;
            if (demo != null) found(demo);
            var common = new Dictionary<string, string>();
            var given = new Dictionary<string, string?>();
            var positional = new List<string>();
            var demoArgs = new List<string>();
            bool quick = false;
            var effective = demo ?? demos.First(d => d.Name == MainDemo);
            for (int i = help ? 1 : 0; i < args.Length; i++)
            {
                var a = args[i];
                if (i == named) continue;
                if (HelpFlags.Contains(a)) { help = true; continue; }
                if (CommonSwitches.Contains(a)) { quick = true; continue; }
                if (CommonValueFlags.Contains(a))
                {
                    common[a] = common.ContainsKey(a) ? throw new CommandLineException($"{a} is given twice.") : TakeValue(args, ref i, a, ValueName(a));
                    continue;
                }
                if (a.StartsWith('-') && a.Length > 1 && !double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    var flag = effective.Flags.FirstOrDefault(f => f.Name == a);
                    if (flag == null)
                    {
                        var known = CommonSwitches.Concat(CommonValueFlags).Concat(HelpFlags).Concat(effective.Flags.Select(f => f.Name)).ToList();
                        if (a.IndexOf('=') is > 0 and var eq && known.Contains(a[..eq]))
                            throw new CommandLineException($"write '{a[..eq]} {a[(eq + 1)..]}' with a space instead of '{a}'.");
                        var owner = demo == null ? demos.FirstOrDefault(d => d.Flags.Any(f => f.Name == a)) : null;
                        throw new CommandLineException($"unknown option '{a}' for {effective.Name}{DidYouMean(a, known)}" +
                            (owner != null ? $" ('{a}' is an option of {owner.Name}; put it after the demo name)" : "") + ".");
                    }
                    if (given.ContainsKey(a)) throw new CommandLineException($"{a} is given twice.");
                    demoArgs.Add(a);
                    string? value = null;
                    if (flag.Value != null)
                    {
                        value = TakeValue(args, ref i, a, flag.Value);
                        if (flag.Choices != null && !flag.Choices.Contains(value))
                            throw new CommandLineException($"{a} must be {string.Join(" or ", flag.Choices)}; got '{value}'.");
                        demoArgs.Add(value);
                    }
                    given[a] = value;
                    continue;
                }
                if (demo == null)
                    throw new CommandLineException($"unknown demo '{a}'{DidYouMean(a, demos.Select(d => d.Name))}; run with --help for the list.");
                if (demo.Positional == null)
                    throw new CommandLineException($"unexpected argument '{a}': {demo.Name} takes no positional arguments.");
                positional.Add(a);
                demoArgs.Add(a);
            }
            if (help) return new Invocation(true, demo, null, null, DType.Float64);

            // dtype and device: the options, else the environment, else float64 on the CPU.
            string? dtypeSource = null, dtypeText = null;
            if (common.TryGetValue("--dtype", out var dtOption)) (dtypeSource, dtypeText) = ($"--dtype {dtOption}", dtOption);
            else if (environment("NM_DTYPE") is { Length: > 0 } dtEnv) (dtypeSource, dtypeText) = ($"NM_DTYPE={dtEnv}", dtEnv);
            DType dtype = DType.Float64;
            if (dtypeText != null)
            {
                try { dtype = DTypeExtensions.Parse(dtypeText); }
                catch (ArgumentException) { throw new CommandLineException($"{dtypeSource}: unknown dtype '{dtypeText}'; use float64 or float32."); }
            }
            var fromOption = common.TryGetValue("--device", out var dev);
            if (!fromOption) dev = environment("NM_DEVICE") is { Length: > 0 } edev ? edev : "cpu";
            var deviceSource = fromOption ? $"--device {dev}" : $"NM_DEVICE={dev}";
            Device device;
            try { device = DeviceRegistry.Get(dev!); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var message = DemoOptions.OneLine((e is TypeInitializationException or System.Reflection.TargetInvocationException) && e.InnerException != null ? e.InnerException.Message : e.Message);
                if (fromOption) message = message.Replace("NM_DEVICE=", "--device ", StringComparison.Ordinal);
                throw new CommandLineException(message.StartsWith(fromOption ? "--device" : "NM_DEVICE", StringComparison.Ordinal)
                    ? message
                    : $"{deviceSource}: {message}{(fromOption ? "" : " Set NM_DEVICE to cpu (or unset it) to run on the CPU.")}");
            }

            var outDir = common.TryGetValue("--out", out var o) ? CheckOutputFolder(o) : "out";
            var options = new DemoOptions(quick, outDir, demoArgs.ToArray()) { Given = given, Positional = positional };
            return new Invocation(false, effective, options, device, dtype);
        }

        private static string ValueName(string flag) => flag switch { "--out" => "a folder", "--device" => "cpu, cuda or opencl", _ => "float64 or float32" };

        /// <summary>The argument after option <paramref name="flag"/>; an option name or the end of the line there is an error.</summary>
        private static string TakeValue(string[] args, ref int i, string flag, string valueName)
        {
            if (i + 1 >= args.Length || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                throw new CommandLineException($"{flag} needs a value ({valueName}).");
            return args[++i];
        }

        /// <summary>Creates the --out folder and checks that a file can be written in it.</summary>
        private static string CheckOutputFolder(string dir)
        {
            if (dir.Trim().Length == 0) throw new CommandLineException("--out needs a folder name, got an empty one.");
            if (File.Exists(dir)) throw new CommandLineException($"--out {dir}: this is a file; give a folder.");
            for (var up = Path.GetDirectoryName(Path.GetFullPath(dir)); !string.IsNullOrEmpty(up); up = Path.GetDirectoryName(up))
                if (File.Exists(up)) throw new CommandLineException($"--out {dir}: '{up}' is a file, so the folder cannot be created there.");
            try
            {
                Directory.CreateDirectory(dir);
                var probe = Path.Combine(dir, $".nm_write_check_{Environment.ProcessId}_{Guid.NewGuid():N}");
                File.WriteAllBytes(probe, Array.Empty<byte>());
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new CommandLineException($"--out {dir}: the folder cannot be created or written ({DemoOptions.OneLine(e.Message)}).");
            }
            return dir;
        }

        private static string DidYouMean(string text, IEnumerable<string> candidates)
        {
            var best = candidates.Select(c => (c, d: EditDistance.Between(text, c))).Where(x => x.d <= Math.Max(2, x.c.Length / 4)).OrderBy(x => x.d).FirstOrDefault();
            return best.c == null ? "" : $" (did you mean '{best.c}'?)";
        }

        /// <summary>The usage of one demo: its command line and its own options.</summary>
        public static string DefaultUsage(IDemo demo)
        {
            var flags = string.Concat(demo.Flags.Select(f => $" [{f.Name}{(f.Value != null ? " " + f.Value : "")}]"));
            var lines = new List<string> { $"usage: NeuralMag.Demos {demo.Name} {CommonUsage}{flags}{(demo.Positional != null ? " " + demo.Positional : "")}" };
            lines.AddRange(demo.Flags.Select(f => $"  {f.Name + (f.Value != null ? " " + f.Value : ""),-24} {f.Description}"));
            return string.Join(Environment.NewLine, lines);
        }

        private static string GeneralUsage(bool withDemos = true)
        {
            var lines = new List<string>
            {
                $"usage: NeuralMag.Demos [<demo>] {CommonUsage} [demo options]",
                withDemos
                    ? $"(default demo: {MainDemo}; demo options go after the demo name; NeuralMag.Demos <demo> --help shows them)"
                    : "(NeuralMag.Demos --help lists the demos)",
            };
            if (withDemos) lines.Add("demos:");
            if (withDemos) lines.AddRange(All().Select(d => $"  {d.Name,-32} {d.Description}"));
            return string.Join(Environment.NewLine, lines);
        }
    }
}
