// muMAG standard problem 4, field 1, as an F# script: the s-state switched by mu0 H = (-24.6, 4.3, 0) mT, the
// volume-averaged m_y(t) compared with OOMMF's curve.
//   dotnet fsi examples/sp4.fsx [--quick]       (after `dotnet pwsh ./build.ps1 pack`)
// Exit code 1 when max |<m_y> - OOMMF| over the first 0.3 ns reaches 0.04 (upstream's criterion).
// The package source is examples/NuGet.config (the local feed of build.ps1 pack).
#r "nuget: NeuralMag.State, 0.1.0"

open System
open System.Globalization
open System.IO
open NeuralMag
open NeuralMag.IO

let quick = fsi.CommandLineArgs |> Array.contains "--quick" || Environment.GetEnvironmentVariable "NM_QUICK" = "1"

// The s-state and OOMMF's curve ship with the repository (data/reference/oommf), found from this script's folder.
let roots = ReferenceCase.Roots(Environment.GetEnvironmentVariable ReferenceCase.EnvironmentVariable, [ __SOURCE_DIRECTORY__; Environment.CurrentDirectory ])
let find (name: string) =
    roots |> Seq.map (fun r -> Path.Combine(r, "oommf", name)) |> Seq.tryFind File.Exists
    |> Option.defaultWith (fun () -> failwithf "oommf/%s not found in data/reference (or $NM_REFERENCE_DATA)" name)

let state = State(Mesh([| 100; 25; 1 |], [| 5e-9; 5e-9; 3e-9 |]))
state.Material.["Ms"] <- 8e5
state.Material.["A"] <- 1.3e-11
state.Material.["alpha"] <- 0.02
state.["m"] <- VectorFunction(state, Vti.ReadTensor(find "s_state_init.vti", "m"))
ExchangeField().Register(state, "exchange")
DemagField().Register(state, "demag")
ExternalField([| -24.6e-3 / Constants.Mu0; 4.3e-3 / Constants.Mu0; 0.0 |]).Register(state, "external")
TotalField("exchange", "demag", "external").Register(state)

let oommf =
    File.ReadAllLines(find "oommf_sp4_fieldswitch_1.csv").[1..]
    |> Array.map (fun l -> l.Split(',') |> Array.map (fun s -> Double.Parse(s, CultureInfo.InvariantCulture)))
let oommfAt t =
    match oommf |> Array.tryFindIndex (fun r -> r.[0] >= t) with
    | Some 0 -> oommf.[0].[1]
    | Some i -> let w = (t - oommf.[i - 1].[0]) / (oommf.[i].[0] - oommf.[i - 1].[0]) in oommf.[i - 1].[1] + w * (oommf.[i].[1] - oommf.[i - 1].[1])
    | None -> oommf.[oommf.Length - 1].[1]

let llg = LLGSolver(state)
let steps = if quick then 5 else 100   // 10 ps each
let mutable maxDev = 0.0
for i in 1 .. steps do
    llg.Step 1e-11
    let my = state.M.Avg().ToArray().[1]   // volume average, as upstream's m.avg()
    if state.T <= 3e-10 + 1e-15 then maxDev <- max maxDev (abs (my - oommfAt state.T))
    if i % 10 = 0 || i = steps then printfn "t = %.2f ns  <m_y> = %.4f  OOMMF %.4f" (state.T * 1e9) my (oommfAt state.T)

let ok = maxDev < 0.04
printfn "max |<m_y> - OOMMF| over the first %.2f ns: %.4f (< 0.04): %s" (min state.T 3e-10 * 1e9) maxDev (if ok then "PASS" else "FAIL")
exit (if ok then 0 else 1)
