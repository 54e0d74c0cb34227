using System.Collections.Concurrent;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Spark;

public sealed class DevicePoolTests
{
    [Fact]
    public void FromList_ExplicitDevices_LeasesExactlyThoseThenFallsBack()
    {
        var log = new List<string>();
        var pool = DevicePool.FromList("cuda:2, cuda:0", log.Add);

        Assert.Equal(new[] { "cuda:2", "cuda:0" }, pool.Devices);
        using var a = pool.Lease("auto");
        using var b = pool.Lease("cuda");
        using var c = pool.Lease("auto");

        Assert.Equal("cuda:2", a.Device);
        Assert.Equal("cuda:0", b.Device);
        Assert.False(c.IsCuda);
        Assert.Equal("cpu", c.Device);
        Assert.Single(log);
        Assert.Contains("all 2 GPU(s)", log[0]);
    }

    [Fact]
    public void Lease_ConcurrentTasks_NeverShareAGpu()
    {
        var pool = new DevicePool(3);
        var inUse = new ConcurrentDictionary<int, int>();
        int overlaps = 0, gpuLeases = 0, cpuLeases = 0;
        using var start = new Barrier(8);

        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 200; i++)
            {
                using var lease = pool.Lease("auto");
                if (!lease.IsCuda)
                {
                    Interlocked.Increment(ref cpuLeases);
                    continue;
                }
                Interlocked.Increment(ref gpuLeases);
                if (inUse.AddOrUpdate(lease.CudaIndex, 1, (_, n) => n + 1) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }
                Thread.SpinWait(50);
                inUse.AddOrUpdate(lease.CudaIndex, 0, (_, n) => n - 1);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal(0, overlaps);
        Assert.Equal(1600, gpuLeases + cpuLeases);
        Assert.True(gpuLeases > 0);
        Assert.Equal(3, pool.Available);
    }

    [Fact]
    public void Lease_TaskThrows_DeviceReturnedToPool()
    {
        var pool = new DevicePool(1);

        Action task = () =>
        {
            using var lease = pool.Lease("cuda");
            Assert.True(lease.IsCuda);
            Assert.Equal(0, pool.Available);
            throw new InvalidOperationException("task failed");
        };

        Assert.Throws<InvalidOperationException>(task);

        Assert.Equal(1, pool.Available);
        using var next = pool.Lease("cuda:0");
        Assert.Equal("cuda:0", next.Device);
    }

    [Fact]
    public void Dispose_Twice_ReturnsDeviceOnce()
    {
        var pool = new DevicePool(1);
        var first = pool.Lease("auto");
        first.Dispose();
        using var second = pool.Lease("auto");

        first.Dispose();

        Assert.True(second.IsCuda);
        Assert.Equal(0, pool.Available);
    }

    [Fact]
    public void Lease_NoVisibleGpu_FallsBackToCpuAndLogs()
    {
        var log = new List<string>();
        var pool = new DevicePool(0, log.Add);

        using var lease = pool.Lease("cuda");
        using var second = pool.Lease("cuda");   // a second worker of the same run: the same news, not logged again

        Assert.False(lease.IsCuda);
        Assert.Equal("cpu", lease.Device);
        Assert.False(second.IsCuda);
        Assert.Single(log);
        Assert.Contains("no CUDA device is visible", log[0]);
    }

    [Fact]
    public void Lease_Cpu_NeverTakesAGpuAndDoesNotLog()
    {
        var log = new List<string>();
        var pool = new DevicePool(1, log.Add);

        using var lease = pool.Lease("cpu");

        Assert.Equal("cpu", lease.Device);
        Assert.Equal(1, pool.Available);
        Assert.Empty(log);
    }

    [Fact]
    public void Lease_NamedGpuBusy_FallsBackToCpu()
    {
        var log = new List<string>();
        var pool = new DevicePool(2, log.Add);
        using var held = pool.Lease("cuda:1");

        using var second = pool.Lease("cuda:1");

        Assert.Equal("cuda:1", held.Device);
        Assert.Equal("cpu", second.Device);
        Assert.Single(log);
    }

    [Fact]
    public void Lease_NamedGpuNotInPool_Throws()
    {
        var pool = DevicePool.FromList("cuda:0");

        var e = Assert.Throws<SparkAnomalyException>(() => pool.Lease("cuda:3"));

        Assert.Contains("cuda:3", e.Message);
    }

    [Theory]
    [InlineData("auto", DeviceRequestKind.Auto, -1)]
    [InlineData(" CPU ", DeviceRequestKind.Cpu, -1)]
    [InlineData("cuda", DeviceRequestKind.Cuda, -1)]
    [InlineData("cuda:3", DeviceRequestKind.CudaIndex, 3)]
    public void Parse_ValidDevice_Parsed(string text, DeviceRequestKind kind, int index)
    {
        var request = DeviceRequest.Parse(text);

        Assert.Equal(kind, request.Kind);
        Assert.Equal(index, request.Index);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("")]
    public void Parse_BadDevice_ThrowsSparkAnomalyException(string text)
    {
        var e = Assert.Throws<SparkAnomalyException>(() => DeviceRequest.Parse(text));

        Assert.Contains("auto, cpu, cuda or cuda:N", e.Message);
    }

    [Theory]
    [InlineData("cuda:0,cuda:0")]
    [InlineData("cuda:0,auto")]
    [InlineData("cuda:0,tpu")]
    public void FromList_BadList_ThrowsSparkAnomalyException(string list)
    {
        Assert.Throws<SparkAnomalyException>(() => DevicePool.FromList(list));
    }

    [Fact]
    public void Shared_OnThisMachine_CreatedFromTorch()
    {
        var pool = DevicePool.Shared;

        Assert.Same(pool, DevicePool.Shared);
        Assert.True(pool.Capacity >= 0);
    }
}
