using SparkAnomaly.Model;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Training;

public sealed class PayloadTests
{
    private static WorkerRequest Request(int worker = 1) => new()
    {
        ConfigHash = 0xABCDEF, Round = 7, Worker = worker, Workers = 3, Seed = -5, BatchCursor = 35, BatchSize = 64, Steps = 5,
        DropPartialBatch = true, KlWeight = 0.5, Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, GradientClip = 0,
        Model = new ModelConfig(8), Threads = 1, Device = "cpu", ShardKey = "shard-1",
        Parameters = new[] { 1f, -2.5f, float.Epsilon }, Updater = new UpdaterState(12, new[] { 0.1f, 0.2f, 0.3f }, new[] { 1f, 2f, 3f }),
    };

    [Fact]
    public void Request_EncodeDecode_RoundTripsEveryField()
    {
        var r = Request();
        var back = WorkerPayload.DecodeRequest(WorkerPayload.Encode(r));
        Assert.Equal(r with { Parameters = back.Parameters, Updater = back.Updater }, back);
        Assert.Equal(r.Parameters, back.Parameters);
        Assert.Equal(r.Updater.FirstMoment, back.Updater.FirstMoment);
        Assert.Equal(r.Updater.SecondMoment, back.Updater.SecondMoment);
        Assert.Equal(r.Updater.Step, back.Updater.Step);
    }

    [Fact]
    public void Request_FloatsAreLittleEndianFloat32InTheDocumentedPlace()
    {
        var bytes = WorkerPayload.Encode(Request());
        // Parameters are preceded by their count (3) and end 8 (checksum) + updater bytes before the end.
        int updaterBytes = 8 + 4 + 12 + 4 + 12;
        int paramStart = bytes.Length - 8 - updaterBytes - 12;
        Assert.Equal(3, BitConverter.ToInt32(bytes, paramStart - 4));
        Assert.Equal(-2.5f, BitConverter.ToSingle(bytes, paramStart + 4));
        Assert.Equal("SAWQ"u8.ToArray(), bytes[..4]);
    }

    [Fact]
    public void Decode_CorruptedByte_RefusedByChecksum()
    {
        var bytes = WorkerPayload.Encode(Request());
        bytes[40] ^= 0x10;
        var e = Assert.Throws<SparkAnomalyException>(() => WorkerPayload.DecodeRequest(bytes));
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void Decode_Truncated_Refused()
    {
        var bytes = WorkerPayload.Encode(Request());
        Assert.Throws<SparkAnomalyException>(() => WorkerPayload.DecodeRequest(bytes[..(bytes.Length / 2)]));
        Assert.Throws<SparkAnomalyException>(() => WorkerPayload.DecodeResult(WorkerPayload.Encode(Request())));
    }

    [Fact]
    public void RoundBundle_SelectsEachWorkersRequest()
    {
        var tasks = Enumerable.Range(0, 3).Select(w => new WorkerTask(w, WorkerPayload.Encode(Request(w)))).ToList();
        var bundle = RoundBundle.Pack(tasks);
        for (int w = 0; w < 3; w++)
        {
            Assert.Equal(tasks[w].Request, RoundBundle.Select(bundle, w));
        }
        Assert.Throws<SparkAnomalyException>(() => RoundBundle.Select(bundle, 9));
    }
}
