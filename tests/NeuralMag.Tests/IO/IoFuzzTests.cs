using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using NeuralMag.IO;

namespace NeuralMag.Tests.IO;

/// <summary>
/// Random corruptions of valid OVF (text, binary 4, binary 8) and VTI files, with a fixed seed and a fixed number of
/// cases: truncations, flipped bits, inserted and deleted bytes, and header numbers replaced by random ones. Every
/// outcome must be a read of the original's shape or a <see cref="FileFormatException"/> naming the file; any other
/// exception type, or a read of a different shape (a silent sub-block), fails the test.
/// </summary>
[TestClass]
public sealed class IoFuzzTests
{
    private const int CasesPerFormat = 150;
    private static readonly int[] Cells = { 4, 3, 2 };
    private static readonly double[] Step = { 5e-9, 4e-9, 3e-9 };

    private static readonly string[] OddNumbers =
    {
        "0", "-1", "-3", "1", "2", "3", "5", "7", "1000", "20000", "65536", "2147483647", "-2147483648", "4294967296",
        "99999999999999999999", "1e400", "-1e-400", "NaN", "Infinity", "abc", "", "2.5", "0x10", "1,5", "٣",
    };

    private static string Temp() => Path.Combine(Path.GetTempPath(), $"nm_fuzz_{Guid.NewGuid():N}");

    private static double[] Values(int n) => Enumerable.Range(0, n).Select(i => Math.Sin(0.7 * i + 0.1)).ToArray();

    /// <summary>One random corruption of <paramref name="original"/>; <paramref name="what"/> describes it for the failure message.</summary>
    private static byte[] Corrupt(byte[] original, Random rng, out string what)
    {
        var b = original.ToList();
        switch (rng.Next(6))
        {
            case 0:
            {
                int at = rng.Next(b.Count);
                what = $"truncated to {at} bytes";
                return original[..at];
            }
            case 1:
            {
                int flips = 1 + rng.Next(3);
                var sb = new StringBuilder("flipped");
                var r = (byte[])original.Clone();
                for (int i = 0; i < flips; i++)
                {
                    int at = rng.Next(r.Length), bit = rng.Next(8);
                    r[at] ^= (byte)(1 << bit);
                    sb.Append($" bit {bit} of byte {at}");
                }
                what = sb.ToString();
                return r;
            }
            case 2:
            {
                int at = rng.Next(b.Count), n = 1 + rng.Next(4);
                n = Math.Min(n, b.Count - at);
                b.RemoveRange(at, n);
                what = $"deleted {n} bytes at {at}";
                return b.ToArray();
            }
            case 3:
            {
                int at = rng.Next(b.Count + 1);
                var ins = Enumerable.Range(0, 1 + rng.Next(4)).Select(_ => (byte)rng.Next(256)).ToArray();
                b.InsertRange(at, ins);
                what = $"inserted {Convert.ToHexString(ins)} at {at}";
                return b.ToArray();
            }
            default:
            {
                // Replace one number of the text part (header values, attributes, text data) by an odd one.
                var text = Encoding.Latin1.GetString(original);
                var numbers = Regex.Matches(text[..HeaderEnd(text)], @"-?\d+(\.\d+)?([eE][-+]?\d+)?").ToList();
                var m = numbers[rng.Next(numbers.Count)];
                var replacement = rng.Next(3) == 0 ? rng.Next(-5, 40).ToString(CultureInfo.InvariantCulture) : OddNumbers[rng.Next(OddNumbers.Length)];
                what = $"number '{m.Value}' at {m.Index} replaced by '{replacement}'";
                return Encoding.Latin1.GetBytes(text[..m.Index] + replacement + text[(m.Index + m.Length)..]);
            }
        }
    }

    /// <summary>Where the editable text ends: the OVF header, or for VTI the whole document (its data is base64 text).</summary>
    private static int HeaderEnd(string text)
    {
        int data = text.IndexOf("# Begin: Data Binary", StringComparison.Ordinal);
        return data >= 0 ? data : text.Length;
    }

    private static void Check(string file, byte[] original, Func<string, int[]> readShape, int cases, int seed)
    {
        var rng = new Random(seed);
        var expected = readShape(file);
        int reads = 0, errors = 0;
        var failures = new List<string>();
        for (int c = 0; c < cases; c++)
        {
            var bytes = Corrupt(original, rng, out var what);
            File.WriteAllBytes(file, bytes);
            try
            {
                var shape = readShape(file);
                if (!shape.SequenceEqual(expected))
                    failures.Add($"case {c} ({what}): read shape ({string.Join(", ", shape)}), the original is ({string.Join(", ", expected)})");
                reads++;
            }
            catch (FileFormatException e)
            {
                if (e.FilePath != file || !e.Message.StartsWith(file + ": ", StringComparison.Ordinal))
                    failures.Add($"case {c} ({what}): the message does not start with the file: {e.Message}");
                errors++;
            }
            catch (Exception e)
            {
                failures.Add($"case {c} ({what}): {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures.Take(10)));
        Assert.IsTrue(errors > cases / 4, $"{errors} of {cases} corruptions were detected; the fuzzer should mostly produce bad files");
        Console.WriteLine($"{Path.GetExtension(file)}: {reads} reads of the original shape, {errors} FileFormatExceptions");
    }

    [TestMethod]
    [Timeout(120_000)]
    [DataRow(OvfFormat.Text, 3, 11)]
    [DataRow(OvfFormat.Binary4, 3, 12)]
    [DataRow(OvfFormat.Binary8, 1, 13)]
    public void CorruptOvfFilesReadCorrectlyOrFailWithTheFileName(OvfFormat format, int valueDim, int seed)
    {
        var file = Temp() + ".ovf";
        try
        {
            Ovf.Write(file, Cells, Step, new[] { 1e-9, 0, -2e-9 }, Values(24 * valueDim), valueDim, format, "m");
            var original = File.ReadAllBytes(file);
            Check(file, original, f =>
            {
                var r = Ovf.Read(f);
                Assert.AreEqual(r.Cells.Aggregate(1, (p, n) => p * n) * r.ValueDim, r.Values.Length, "values fill the header's grid");
                return r.Cells.Append(r.ValueDim).Append(r.Values.Length).ToArray();
            }, CasesPerFormat, seed);
        }
        finally { File.Delete(file); }
    }

    [TestMethod]
    [Timeout(120_000)]
    public void CorruptVtiFilesReadCorrectlyOrFailWithTheFileName()
    {
        var file = Temp() + ".vti";
        try
        {
            Vti.Write(file, Cells, Step, new double[3], new[] { ("m", Values(60 * 3), 3, true), ("rho", Values(24), 1, false) });
            var original = File.ReadAllBytes(file);
            Check(file, original, f =>
            {
                var fields = Vti.Read(f);
                foreach (var x in fields)
                    Assert.AreEqual(x.GridShape.Aggregate(1, (p, n) => p * n) * x.Components, x.Values.Length, "values fill the extent");
                return fields.SelectMany(x => x.GridShape.Append(x.Components).Append(x.OnPoints ? 1 : 0)).ToArray();
            }, 2 * CasesPerFormat, 14);
        }
        finally { File.Delete(file); }
    }
}
