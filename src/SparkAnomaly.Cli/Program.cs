using SparkAnomaly.Model;
TorchRuntime.EnsureLoaded();
Console.WriteLine(TorchRuntime.Describe());
