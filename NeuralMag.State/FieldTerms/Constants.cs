namespace NeuralMag;

/// <summary>Physical constants (SI), the values upstream NeuralMag takes from scipy.constants.</summary>
public static class Constants
{
    /// <summary>Vacuum permeability mu0 in N/A^2 (CODATA 2018, as scipy.constants.mu_0 in the SciPy upstream used).</summary>
    public const double Mu0 = 1.25663706212e-06;

    /// <summary>Reduced gyromagnetic ratio gamma mu0 used by upstream's LLG solver, in m/(A s).</summary>
    public const double Gamma = 221276.14725379366;
}
