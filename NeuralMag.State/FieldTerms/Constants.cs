namespace NeuralMag;

/// <summary>Physical constants (SI), the values upstream NeuralMag takes from scipy.constants.</summary>
public static class Constants
{
    /// <summary>Vacuum permeability mu0 in N/A^2 (CODATA 2018, as scipy.constants.mu_0 in the SciPy upstream used).</summary>
    public const double Mu0 = 1.25663706212e-06;

    /// <summary>Reduced gyromagnetic ratio gamma mu0 used by upstream's LLG solver, in m/(A s).</summary>
    public const double Gamma = 221276.14725379366;

    /// <summary>Bohr magneton mu_B in J/T (CODATA 2018).</summary>
    public const double BohrMagneton = 9.2740100783e-24;

    /// <summary>Elementary charge e in C (exact in the 2019 SI).</summary>
    public const double ElementaryCharge = 1.602176634e-19;

    /// <summary>Reduced Planck constant hbar in J s (exact in the 2019 SI).</summary>
    public const double ReducedPlanck = 1.054571817e-34;

    /// <summary>Boltzmann constant k_B in J/K (exact in the 2019 SI).</summary>
    public const double Boltzmann = 1.380649e-23;
}
