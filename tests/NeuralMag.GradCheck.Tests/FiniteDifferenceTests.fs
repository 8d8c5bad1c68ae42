namespace NeuralMag.GradCheck.Tests

open Microsoft.VisualStudio.TestTools.UnitTesting
open NeuralMag.AD

/// Central finite differences of a scalar function of one tensor: the oracle independent of the tape.
module Oracle =
    let centralDifference (f: NTensor -> NTensor) (x: NTensor) (h: float) =
        let data = x.ToArray()
        let shape = x.GetShape()
        Array.init data.Length (fun k ->
            let plus = Array.copy data
            let minus = Array.copy data
            plus.[k] <- plus.[k] + h
            minus.[k] <- minus.[k] - h
            (f(NTensor.FromArray(plus, shape)).Item() - f(NTensor.FromArray(minus, shape)).Item()) / (2.0 * h))

[<TestClass>]
type FiniteDifferenceTests() =

    [<TestMethod>]
    member _.``sin times exp chain matches central differences``() =
        let x = NTensor.FromArray([| 0.3; -1.2; 0.7; 2.1; -0.4; 1.5 |], [| 2; 3 |])
        let f (t: NTensor) = (t.Sin() * t.Exp()).Sum(1).Square().Sum()
        let tape = Autodiff.Grad(System.Func<NTensor, NTensor>(f)).Invoke(x).ToArray()
        let fd = Oracle.centralDifference f x 1e-6
        for k in 0 .. fd.Length - 1 do
            let rel = abs (tape.[k] - fd.[k]) / max (abs fd.[k]) 1e-12
            Assert.IsTrue(rel < 1e-6, sprintf "element %d: tape %g, finite difference %g, relative error %g" k tape.[k] fd.[k] rel)
