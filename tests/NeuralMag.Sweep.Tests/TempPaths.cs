namespace NeuralMag.Sweep.Tests;

/// <summary>
/// Scratch paths of this test run, all under one folder of the system's temp directory that is deleted when the
/// assembly's tests end, so that runs leave nothing behind.
/// </summary>
[TestClass]
public static class TempPaths
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"nm-sweep-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>A new path under the run's folder (the folder exists, the path not yet): <paramref name="name"/> with a unique prefix.</summary>
    public static string New(string name)
    {
        Directory.CreateDirectory(Root);
        return Path.Combine(Root, $"{Guid.NewGuid():N}-{name}");
    }

    /// <summary>A CSV store path in a new (not yet created) folder, as the sweep stores create their folder.</summary>
    public static string StoreFile() => Path.Combine(New("sweep"), "store.csv");

    /// <summary>Deletes the run's folder.</summary>
    [AssemblyCleanup]
    public static void DeleteAll()
    {
        try { if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
