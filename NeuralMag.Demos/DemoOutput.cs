using System.Globalization;

namespace NeuralMag.Demos;

/// <summary>Small output helpers shared by the demos: CSV tables and line plots.</summary>
internal static class DemoOutput
{
    /// <summary>Writes a CSV file with a header and one row per entry (numbers in round-trip format).</summary>
    public static void WriteCsv(string path, string header, IEnumerable<double[]> rows) =>
        File.WriteAllLines(path, rows.Select(r => string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))).Prepend(header));

    /// <summary>A named curve of a line plot; <paramref name="Markers"/> draws points only.</summary>
    public sealed record Curve(string Label, double[] X, double[] Y, bool Markers = false);

    /// <summary>Saves a line plot of the given curves as a PNG.</summary>
    public static void Plot(string path, string title, string xLabel, string yLabel, params Curve[] curves)
    {
        var plt = new ScottPlot.Plot();
        foreach (var c in curves)
        {
            var s = plt.Add.Scatter(c.X, c.Y);
            s.LegendText = c.Label;
            if (c.Markers) s.LineWidth = 0;
            else s.MarkerSize = 0;
        }
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        if (curves.Length > 1) plt.ShowLegend();
        plt.SavePng(path, 800, 500);
    }
}
