namespace NeuralMag.IO;

/// <summary>
/// A data file (OVF, VTI) that cannot be read: a malformed or inconsistent header, data shorter or longer than the
/// header says, undecodable base64 or zlib data, or a feature the reader does not support. The message starts with the
/// file's path and says what is wrong; <see cref="FilePath"/> holds the path. Lower-level decoding errors (zlib, base64,
/// XML, number parsing) are kept as <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class FileFormatException : FormatException
{
    /// <param name="filePath">The file that was being read.</param>
    /// <param name="problem">What is wrong, without the path (it is prefixed).</param>
    /// <param name="inner">The lower-level exception, if any.</param>
    public FileFormatException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
    }

    /// <summary>The path of the file that could not be read, as it was given to the reader.</summary>
    public string FilePath { get; }
}

/// <summary>Argument checks shared by the OVF and VTI writers and the loggers.</summary>
internal static class FileArguments
{
    /// <summary>
    /// Throws unless <paramref name="path"/> names a file whose folder exists: <see cref="ArgumentException"/> for an
    /// empty path or one naming a folder, <see cref="DirectoryNotFoundException"/> for a missing folder.
    /// </summary>
    public static void CheckWritable(string path, string what, string paramName = "path")
    {
        ArgumentNullException.ThrowIfNull(path, paramName);
        if (path.Trim().Length == 0) throw new ArgumentException($"{what}: the file path is empty.", paramName);
        if (Directory.Exists(path)) throw new ArgumentException($"{what}: '{path}' is a folder; give a file name.", paramName);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir) && !Directory.Exists(dir))
            throw new DirectoryNotFoundException($"{what}: the folder '{dir}' of '{path}' does not exist; create it first.");
    }

    /// <summary>Creates the folder of <paramref name="path"/>, reporting a failure (a file in the way, no permission) with the path.</summary>
    public static void CreateFolderOf(string path, string what)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (string.IsNullOrEmpty(dir) || Directory.Exists(dir)) return;
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{what}: cannot create the folder '{dir}' for '{path}' ({e.Message}).", e);
        }
    }

    /// <summary>Runs a file write, turning IO failures into an <see cref="IOException"/> that names the file.</summary>
    public static void Write(string path, string what, Action write)
    {
        try { write(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{what}: cannot write '{path}' ({e.Message}).", e);
        }
    }

    /// <summary>Checks a 3-entry cell count / cell size / origin triple of a grid writer.</summary>
    public static void CheckGrid(int[] cells, double[] cellSize, double[] origin, string cellsName, string sizeName, string originName)
    {
        ArgumentNullException.ThrowIfNull(cells, cellsName);
        ArgumentNullException.ThrowIfNull(cellSize, sizeName);
        ArgumentNullException.ThrowIfNull(origin, originName);
        if (cells.Length != 3) throw new ArgumentException($"{cellsName} needs 3 entries (cells along x, y, z), got {cells.Length}.", cellsName);
        if (cellSize.Length != 3) throw new ArgumentException($"{sizeName} needs 3 entries (cell size along x, y, z in m), got {cellSize.Length}.", sizeName);
        if (origin.Length != 3) throw new ArgumentException($"{originName} needs 3 entries (lower corner x, y, z in m), got {origin.Length}.", originName);
        for (int a = 0; a < 3; a++)
        {
            if (cells[a] < 1) throw new ArgumentOutOfRangeException(cellsName, cells[a], $"{cellsName}[{a}] is {cells[a]}; cell counts must be at least 1.");
            if (!(double.IsFinite(cellSize[a]) && cellSize[a] > 0))
                throw new ArgumentOutOfRangeException(sizeName, cellSize[a], $"{sizeName}[{a}] is {cellSize[a]}; cell sizes must be finite and positive.");
            if (!double.IsFinite(origin[a])) throw new ArgumentOutOfRangeException(originName, origin[a], $"{originName}[{a}] is {origin[a]}; the origin must be finite.");
        }
    }
}

/// <summary>Memory checks made before a reader allocates its arrays.</summary>
internal static class ReadMemory
{
    /// <summary>
    /// Throws <see cref="InsufficientMemoryException"/> naming the file when <paramref name="values"/> doubles, held
    /// <paramref name="copies"/> times while reading, exceed one array's limit or the memory the runtime can use.
    /// </summary>
    /// <param name="rawValueBytes">Bytes per value of a raw byte buffer that must also fit in one array (0: none).</param>
    public static void Check(string path, double values, int copies, int rawValueBytes = 0)
    {
        double bytes = values * sizeof(double) * copies;
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (values > Array.MaxLength || values * rawValueBytes > Array.MaxLength || bytes > available)
            throw new InsufficientMemoryException(
                $"{path}: reading needs {values:0} values ({bytes / (1L << 30):0.##} GiB while reading), more than " +
                $"{(values * Math.Max(rawValueBytes, 1) > Array.MaxLength ? $"one array can hold ({Array.MaxLength} entries)" : $"the available memory ({available / (double)(1L << 30):0.##} GiB)")}.");
    }
}
