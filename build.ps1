#!/usr/bin/env pwsh
# Build script for NeuralMag for .NET. Run with `dotnet pwsh ./build.ps1 <target>` (after `dotnet tool restore`),
# or with pwsh directly where it is installed.
#
# Targets:
#   build        Release build of the whole solution
#   test         all MSTest projects (tests/ and examples/NeuralMag.Examples.Tests); ends with "N passed, N failed, N skipped"
#   demo [args]  NeuralMag.Demos with the given arguments (default: the main demo, standard-problem-4)
#   verify [args] the cross-code verification command (default: every case of data/reference, plus
#                shared/reference-data and $NM_REFERENCE_DATA when present, each case once)
#   bench [args] the benchmark harness (markdown report)
#   pack         NuGet packages of the library projects into the local folder feed artifacts/packages
#   examples [--full]  pack, then run every script in examples/ (quick mode unless --full) against those packages,
#                offline where the platform allows (a network namespace without interfaces, `unshare -n`)
#   publish      self-contained linux-x64 builds of the demos, the benchmark and the test runner into ./publish
#   publish-gpu  publish, then a compressed archive publish/neuralmag-gpu.tar.gz for a GPU machine without .NET
param(
    [Parameter(Position = 0)][string]$Target = "build",
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
$Configuration = "Release"

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build { Invoke-Checked dotnet @("build", "NeuralMag.sln", "-c", $Configuration, "-nologo", "-v", "minimal") }

# FFTW 3 runs the demag FFTs, libfftw3 in double and libfftw3f in single precision (float32 states); it is loaded at
# run time, and without it the managed FFT (float32: the float64 transforms) is used (with a one-line notice). On
# Debian/Ubuntu as root or with passwordless sudo this installs it once; otherwise it says how. It never fails the build.
function Install-Fftw {
    if (-not $IsLinux) { return }
    $dirs = @("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib")
    $double = $dirs | Where-Object { Test-Path (Join-Path $_ "libfftw3.so.3") }
    $single = $dirs | Where-Object { Test-Path (Join-Path $_ "libfftw3f.so.3") }
    if ($double -and $single) { return }
    $hint = "fftw: libfftw3 or libfftw3f not found; the managed FFT will be used (install libfftw3-double3 libfftw3-single3 for faster demag fields)."
    if (-not (Get-Command apt-get -ErrorAction SilentlyContinue)) { Write-Host $hint; return }
    $prefix = @()
    if ((& id -u) -ne "0") {
        $sudoOk = $false
        if (Get-Command sudo -ErrorAction SilentlyContinue) { & sudo -n true 2>$null; $sudoOk = ($LASTEXITCODE -eq 0) }
        if (-not $sudoOk) { Write-Host $hint; return }
        $prefix = @("sudo", "-n")
    }
    Write-Host "fftw: installing libfftw3-double3 libfftw3-single3 with apt-get (once)..."
    $env:DEBIAN_FRONTEND = "noninteractive"
    $install = $prefix + @("apt-get", "install", "-y", "--no-install-recommends", "libfftw3-double3", "libfftw3-single3")
    & $install[0] @($install | Select-Object -Skip 1) *> $null
    if ($LASTEXITCODE -ne 0) {
        $update = $prefix + @("apt-get", "update", "-qq")
        & $update[0] @($update | Select-Object -Skip 1) *> $null
        & $install[0] @($install | Select-Object -Skip 1) *> $null
    }
    if ($LASTEXITCODE -ne 0) { Write-Host $hint } else { Write-Host "fftw: installed." }
    $global:LASTEXITCODE = 0
}

function Invoke-Test {
    Install-Fftw
    Invoke-Build
    $results = Join-Path $PSScriptRoot "TestResults"
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    # The example of a user's own MSTest project (examples/NeuralMag.Examples.Tests) is outside the solution: it
    # restores after the solution, from the packages the solution's restore brought (examples/NuGet.config lists only
    # the local feed), and builds here.
    $userTests = Join-Path $PSScriptRoot "examples/NeuralMag.Examples.Tests/NeuralMag.Examples.Tests.csproj"
    Invoke-Checked dotnet @("build", $userTests, "-c", $Configuration, "-nologo", "-v", "minimal")
    $projects = @(Get-ChildItem -Path tests -Recurse -Include *.csproj, *.fsproj) + @(Get-Item -LiteralPath $userTests)
    $failedRun = $false
    foreach ($p in $projects) {
        & dotnet test $p.FullName -c $Configuration --no-build --nologo --logger "trx;LogFileName=$($p.BaseName).trx" --logger "console;verbosity=normal" --results-directory $results @Rest
        if ($LASTEXITCODE -ne 0) { $failedRun = $true }
    }
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($trx in Get-ChildItem -Path $results -Filter *.trx -ErrorAction SilentlyContinue) {
        [xml]$x = Get-Content -LiteralPath $trx.FullName
        $c = $x.TestRun.ResultSummary.Counters
        $p = [int]$c.passed
        $f = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
        $passed += $p
        $failed += $f
        # Inconclusive and not-run tests (e.g. a reference feature not built yet) count as skipped.
        $skipped += [math]::Max(0, [int]$c.total - $p - $f)
    }
    if ($failedRun -and $failed -eq 0) { $failed = 1; Write-Host "A test project failed to run (see above)." }
    Write-Host ""
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0) { exit 1 }
}

# The package version (VersionPrefix in Directory.Build.props, the one place it is set).
function Get-PackageVersion {
    [xml]$props = Get-Content -LiteralPath (Join-Path $PSScriptRoot "Directory.Build.props")
    $v = $props.Project.PropertyGroup | ForEach-Object { $_.VersionPrefix } | Where-Object { $_ } | Select-Object -First 1
    if (-not $v) { throw "Directory.Build.props has no VersionPrefix." }
    return "$v".Trim()
}

# Packs every packable project of the solution into artifacts/packages. NuGet never re-extracts a package version
# that its global packages folder already holds, so the packed versions of our own ids are removed from that folder:
# the next restore (the examples, a user's program) takes the packages just built.
function Invoke-Pack {
    $feed = Join-Path $PSScriptRoot "artifacts/packages"
    if (Test-Path $feed) { Get-ChildItem -Path $feed -Filter "*.nupkg" | Remove-Item -Force }
    Invoke-Checked dotnet @("pack", "NeuralMag.sln", "-c", $Configuration, "-nologo", "-v", "minimal") | Out-Host
    $version = Get-PackageVersion
    $global = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else {
        ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim() }
    $packages = Get-ChildItem -Path $feed -Filter "*.nupkg"
    foreach ($p in $packages) {
        $id = $p.Name.Substring(0, $p.Name.Length - ".$version.nupkg".Length)
        $cached = Join-Path $global (Join-Path $id.ToLowerInvariant() $version)
        if (Test-Path $cached) { Remove-Item -Recurse -Force $cached }
    }
    Write-Host "pack: $($packages.Count) packages, version $version, in $feed"
    return $packages
}

# Runs the scripts in examples/ against the local feed (examples/NuGet.config lists only that feed; the third-party
# packages come from the global packages folder, filled by the build). Each script checks its own physics and exits
# non-zero on failure.
function Invoke-Examples {
    $full = $Rest -contains "--full"
    Invoke-Pack | Out-Null
    $version = Get-PackageVersion
    $scripts = Get-ChildItem -Path (Join-Path $PSScriptRoot "examples") -File | Where-Object { $_.Extension -in ".cs", ".fsx" } | Sort-Object Name
    foreach ($s in $scripts) {
        $text = Get-Content -Raw -LiteralPath $s.FullName
        $refs = [regex]::Matches($text, '(?m)^#:package (NeuralMag\.[A-Za-z.]+)@(\S+)|^#r "nuget: (NeuralMag\.[A-Za-z.]+), ([^"]+)"')
        foreach ($r in $refs) {
            $v = if ($r.Groups[2].Success) { $r.Groups[2].Value } else { $r.Groups[4].Value }
            if ($v -ne $version) { throw "examples/$($s.Name) references $($r.Value) but the packages are version $version." }
        }
    }
    $offline = @()
    if ($IsLinux -and (Get-Command unshare -ErrorAction SilentlyContinue)) {
        & unshare -n true 2>$null
        if ($LASTEXITCODE -eq 0) { $offline = @("unshare", "-n") }
    }
    if ($offline.Count -gt 0) { Write-Host "examples: offline (unshare -n: no network interface)" }
    else { Write-Host "examples: network not isolated here (no unshare -n); sources are examples/NuGet.config's local feed only" }
    $mode = if ($full) { @() } else { @("--quick") }
    foreach ($s in $scripts) {
        $rel = "examples/$($s.Name)"
        $cmd = if ($s.Extension -eq ".cs") { @("dotnet", "run", "--no-cache", $rel, "--") + $mode } else { @("dotnet", "fsi", $rel) + $mode }
        $cmd = $offline + $cmd
        Write-Host ""
        Write-Host "== $($cmd -join ' ')"
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        & $cmd[0] @($cmd | Select-Object -Skip 1)
        if ($LASTEXITCODE -ne 0) { throw "$rel failed with exit code $LASTEXITCODE" }
        Write-Host "== $rel passed in $([math]::Round($sw.Elapsed.TotalSeconds, 1)) s"
    }
}

function Invoke-Publish {
    # The apps go into one folder so that they share one copy of the .NET runtime (the archive stays < 64 MiB): the
    # demos (with `verify`), the benchmark, and the MSTest suite as a self-contained runner (tools/NeuralMag.TestRunner).
    # dotnet's output goes to the host: a PowerShell function returns everything written to its pipeline.
    $out = Join-Path $PSScriptRoot "publish"
    foreach ($p in @("NeuralMag.Demos/NeuralMag.Demos.csproj", "bench/NeuralMag.Bench/NeuralMag.Bench.csproj", "tools/NeuralMag.TestRunner/NeuralMag.TestRunner.csproj")) {
        Invoke-Checked dotnet @("publish", $p, "-c", $Configuration, "-r", "linux-x64", "--self-contained", "true",
            "-p:PublishSingleFile=false", "-p:InvariantGlobalization=true", "-o", (Join-Path $out "neuralmag"), "-nologo", "-v", "minimal") | Out-Host
    }
    # The reference data beside the programs: ReferenceCase finds data/reference above the application folder, so the
    # tests, `verify` and the sp4 demo of the published folder run without the repository.
    $data = Join-Path $out "neuralmag/data"
    if (Test-Path $data) { Remove-Item -Recurse -Force $data }
    Copy-Item -Recurse -Path (Join-Path $PSScriptRoot "data") -Destination $data
    return $out
}

switch ($Target) {
    "build" { Invoke-Build }
    "test" { Invoke-Test }
    "demo" {
        Install-Fftw
        $demoArgs = if ($Rest.Count -gt 0) { $Rest } else { @("standard-problem-4") }
        Invoke-Checked dotnet (@("run", "--project", "NeuralMag.Demos", "-c", $Configuration, "--") + $demoArgs)
    }
    "verify" {
        Invoke-Checked dotnet (@("run", "--project", "NeuralMag.Demos", "-c", $Configuration, "--", "verify") + $Rest)
    }
    "bench" { Invoke-Checked dotnet (@("run", "--project", "bench/NeuralMag.Bench", "-c", $Configuration, "--") + $Rest) }
    "pack" { Invoke-Pack | Out-Null }
    "examples" { Invoke-Examples }
    "publish" { Invoke-Publish | Out-Null }
    "publish-gpu" {
        $out = Invoke-Publish
        $archive = Join-Path $out "neuralmag-gpu.tar.gz"
        Invoke-Checked tar @("-czf", $archive, "-C", $out, "neuralmag") | Out-Host
        Write-Host "Wrote $archive ($([math]::Round((Get-Item $archive).Length / 1MB, 1)) MiB)"
    }
    default { throw "Unknown target '$Target'. Targets: build, test, demo, verify, bench, pack, examples, publish, publish-gpu." }
}
