#!/usr/bin/env bash
# Submits the SparkAnomaly Spark jobs (spark-jobs/SparkAnomaly.Spark) with spark-submit and .NET for
# Apache Spark 2.3.1 (DotnetRunner + microsoft-spark-3-5_2.12-2.3.1.jar, Spark 3.5.0-3.5.3).
# Run ./submit.sh --help for usage; spark-jobs/README.md has worked examples.
set -euo pipefail

readonly SPARK_DOTNET_VERSION="2.3.1"
readonly SPARK_JAR_NAME="microsoft-spark-3-5_2.12-${SPARK_DOTNET_VERSION}.jar"
readonly WORKER_TARBALL_NAME="Microsoft.Spark.Worker.net8.0.linux-x64-${SPARK_DOTNET_VERSION}.tar.gz"
readonly WORKER_FOLDER="Microsoft.Spark.Worker-${SPARK_DOTNET_VERSION}"
readonly APP_NAME="SparkAnomaly.Spark"
readonly RUNNER_CLASS="org.apache.spark.deploy.dotnet.DotnetRunner"

usage() {
  cat <<USAGE
Usage: submit.sh --mode MODE [options] -- train|score JOB-ARGS...

Modes:
  local[N]        Spark in this process with N threads (local[*] = all cores)
  standalone      a Spark standalone cluster; needs --master spark://HOST:PORT
  yarn-client     Hadoop YARN, driver on this machine
  yarn-cluster    Hadoop YARN, driver in a YARN container

Options:
  --master URL              standalone master, e.g. spark://head:7077
  --jar PATH                ${SPARK_JAR_NAME} (default: \$SPARKANOMALY_SPARK_JAR,
                            else the copy in the publish folder)
  --worker-tarball PATH     ${WORKER_TARBALL_NAME} (local and YARN modes; default:
                            \$SPARKANOMALY_WORKER_TARBALL, else ./${WORKER_TARBALL_NAME})
  --worker-dir DIR          standalone: the worker folder, at this path on every node
                            (default: \$DOTNET_WORKER_DIR)
  --udfs-dir DIR            standalone: the published app, at this path on every node
                            (default: the publish folder)
  --publish-dir DIR         where to publish the app (default: out/spark/publish)
  --skip-publish            use the publish folder as it is
  --torch-backend cpu|cuda  TorchSharp backend to publish (default: cuda with --gpus, else cpu)
  --gpus N                  GPUs per executor: spark.executor.resource.gpu.amount=N,
                            spark.task.resource.gpu.amount=1 and a discovery script
  --gpu-discovery-script P  default: \$SPARK_HOME/examples/src/main/scripts/getGpusResources.sh
  --ignore-spark-patch-check
                            add spark.dotnet.ignoreSparkPatchVersionCheck=true (Spark 3.5.4 and later)
  --properties-file FILE    default: conf/spark-defaults.conf (note: spark-submit then does not read
                            \$SPARK_HOME/conf/spark-defaults.conf)
  --no-properties-file      pass no --properties-file
  --conf KEY=VALUE          extra Spark setting (repeatable)
  --dry-run                 print every command, run none
  -h, --help                this help

Example:
  ./submit.sh --mode yarn-cluster -- train --data hdfs:///data/bearings --config hdfs:///conf/train.json \\
      --channels b1,b2,b3,b4 --out hdfs:///models/run1
USAGE
}

die() {
  echo "submit.sh: $*" >&2
  exit 2
}

note() {
  echo "submit.sh: note: $*" >&2
}

# Prints a command, quoting each word only where the shell needs it.
print_command() {
  local out="" word
  for word in "$@"; do
    # A dry run without SPARK_HOME shows the placeholder as the shell would expand it.
    if [[ "$word" =~ ^[A-Za-z0-9_./:=,@%+#-]+$ || "$word" == "\$SPARK_HOME/"* ]]; then
      out+="$word "
    else
      out+="'${word//\'/\'\\\'\'}' "
    fi
  done
  echo "${out% }"
}

# Prints a command, then runs it unless --dry-run.
run() {
  print_command "$@"
  if [[ "$DRY_RUN" == "0" ]]; then
    "$@"
  fi
}

# In a real run a missing prerequisite stops the script; in a dry run it becomes a note.
missing() {
  if [[ "$DRY_RUN" == "1" ]]; then
    note "$* (dry run: printing the commands anyway)"
  else
    die "$*"
  fi
}

MODE=""
MASTER=""
JAR="${SPARKANOMALY_SPARK_JAR:+$(abspath "$SPARKANOMALY_SPARK_JAR")}"
WORKER_TARBALL="${SPARKANOMALY_WORKER_TARBALL:+$(abspath "$SPARKANOMALY_WORKER_TARBALL")}"
WORKER_DIR="${DOTNET_WORKER_DIR:-}"
UDFS_DIR=""
PUBLISH_DIR="out/spark/publish"
SKIP_PUBLISH=0
TORCH_BACKEND=""
GPUS=""
GPU_SCRIPT=""
IGNORE_PATCH=0
PROPERTIES_FILE="conf/spark-defaults.conf"
DRY_RUN=0
EXTRA_CONF=()
JOB_ARGS=()

# An absolute path for a path given relative to where the script was started.
abspath() {
  if [[ "$1" == /* || "$1" == *://* || "$1" == \$* ]]; then echo "$1"; else echo "$PWD/$1"; fi
}

need_value() {
  [[ $# -ge 2 && -n "$2" ]] || die "option $1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) need_value "$@"; MODE="$2"; shift 2 ;;
    --master) need_value "$@"; MASTER="$2"; shift 2 ;;
    --jar) need_value "$@"; JAR="$(abspath "$2")"; shift 2 ;;
    --worker-tarball) need_value "$@"; WORKER_TARBALL="$(abspath "$2")"; shift 2 ;;
    --worker-dir) need_value "$@"; WORKER_DIR="$2"; shift 2 ;;
    --udfs-dir) need_value "$@"; UDFS_DIR="$(abspath "$2")"; shift 2 ;;
    --publish-dir) need_value "$@"; PUBLISH_DIR="$(abspath "$2")"; shift 2 ;;
    --skip-publish) SKIP_PUBLISH=1; shift ;;
    --torch-backend) need_value "$@"; TORCH_BACKEND="$2"; shift 2 ;;
    --gpus) need_value "$@"; GPUS="$2"; shift 2 ;;
    --gpu-discovery-script) need_value "$@"; GPU_SCRIPT="$(abspath "$2")"; shift 2 ;;
    --ignore-spark-patch-check) IGNORE_PATCH=1; shift ;;
    --properties-file) need_value "$@"; PROPERTIES_FILE="$(abspath "$2")"; shift 2 ;;
    --no-properties-file) PROPERTIES_FILE=""; shift ;;
    --conf) need_value "$@"; EXTRA_CONF+=("$2"); shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; JOB_ARGS=("$@"); break ;;
    *) die "unknown option '$1' (job arguments go after --; see --help)" ;;
  esac
done

[[ -n "$MODE" ]] || die "--mode is required: local[N], standalone, yarn-client or yarn-cluster (see --help)"
case "$MODE" in
  local) MODE="local[*]" ;;
  local\[*\]) ;;
  standalone) [[ "$MASTER" == spark://* ]] || die "standalone mode needs --master spark://HOST:PORT" ;;
  yarn-client|yarn-cluster) ;;
  *) die "unknown mode '$MODE': use local[N], standalone, yarn-client or yarn-cluster" ;;
esac
[[ ${#JOB_ARGS[@]} -gt 0 ]] || die "no job given: add -- train ... or -- score ... (see --help)"
[[ "${JOB_ARGS[0]}" == "train" || "${JOB_ARGS[0]}" == "score" || "${JOB_ARGS[0]}" == "--help" ]] \
  || die "job must be train or score, not '${JOB_ARGS[0]}'"
if [[ -n "$GPUS" ]]; then
  [[ "$GPUS" =~ ^[1-9][0-9]*$ ]] || die "--gpus must be a whole number of 1 or more, not '$GPUS'"
fi
[[ -n "$TORCH_BACKEND" ]] || TORCH_BACKEND=$([[ -n "$GPUS" ]] && echo cuda || echo cpu)
[[ "$TORCH_BACKEND" == "cpu" || "$TORCH_BACKEND" == "cuda" ]] || die "--torch-backend must be cpu or cuda, not '$TORCH_BACKEND'"

# Commands run from the repository root; relative paths in them are relative to it.
START_DIR="$PWD"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
print_command cd "$REPO_ROOT"
cd "$REPO_ROOT"

# --- prerequisites -------------------------------------------------------------------------------
SPARK_SUBMIT="${SPARK_HOME:-\$SPARK_HOME}/bin/spark-submit"
if [[ -z "${SPARK_HOME:-}" ]]; then
  missing "SPARK_HOME is not set: point it at a Spark 3.5.x installation (Scala 2.12 build)"
elif [[ ! -x "$SPARK_HOME/bin/spark-submit" ]]; then
  missing "SPARK_HOME=$SPARK_HOME has no bin/spark-submit: point it at a Spark 3.5.x installation"
fi
if ! command -v dotnet >/dev/null 2>&1 && [[ "$SKIP_PUBLISH" == "0" ]]; then
  missing "dotnet is not on PATH: install the .NET SDK to publish the app, or pass --skip-publish"
fi

JAR="${JAR:-$PUBLISH_DIR/$SPARK_JAR_NAME}"
APPHOST="$PUBLISH_DIR/$APP_NAME"
case "$MODE" in
  local*|yarn-*)
    WORKER_TARBALL="${WORKER_TARBALL:-$START_DIR/$WORKER_TARBALL_NAME}"
    [[ -f "$WORKER_TARBALL" ]] || missing "worker tarball '$WORKER_TARBALL' not found: download $WORKER_TARBALL_NAME from the dotnet/spark v$SPARK_DOTNET_VERSION release and pass --worker-tarball"
    ;;
  standalone)
    [[ -n "$WORKER_DIR" ]] || missing "standalone mode needs the worker folder installed at the same path on every node: pass --worker-dir (or set DOTNET_WORKER_DIR)"
    WORKER_DIR="${WORKER_DIR:-/opt/$WORKER_FOLDER}"
    ;;
esac

# --- publish -------------------------------------------------------------------------------------
if [[ "$SKIP_PUBLISH" == "0" ]]; then
  run dotnet publish spark-jobs/SparkAnomaly.Spark -c Release -r linux-x64 --self-contained true \
    -p:TorchBackend="$TORCH_BACKEND" -o "$PUBLISH_DIR"
fi
if [[ ! -f "$JAR" ]]; then
  missing "$SPARK_JAR_NAME not found at '$JAR': publish first (it comes with the Microsoft.Spark package) or pass --jar"
fi

# --- spark-submit --------------------------------------------------------------------------------
# Speculation stays off whatever the cluster defaults say: the .NET worker ignores kill signals.
SUBMIT=("$SPARK_SUBMIT" --class "$RUNNER_CLASS" --name "SparkAnomaly ${JOB_ARGS[0]}" --conf spark.speculation=false)
if [[ -n "$PROPERTIES_FILE" ]]; then
  [[ -f "$PROPERTIES_FILE" ]] || die "properties file '$PROPERTIES_FILE' not found (or pass --no-properties-file)"
  SUBMIT+=(--properties-file "$PROPERTIES_FILE")
fi
ENV_PREFIX=()
case "$MODE" in
  local*)
    # The worker runs on this machine: unpack it next to the publish folder.
    WORKER_ROOT="$(dirname "$PUBLISH_DIR")/worker"
    run mkdir -p "$WORKER_ROOT"
    run tar -xzf "$WORKER_TARBALL" -C "$WORKER_ROOT"
    ENV_PREFIX=(env "DOTNET_WORKER_DIR=$(abspath "$WORKER_ROOT")/$WORKER_FOLDER" "DOTNET_ASSEMBLY_SEARCH_PATHS=$(abspath "$PUBLISH_DIR")")
    SUBMIT+=(--master "$MODE")
    APP=("$APPHOST")
    ;;
  standalone)
    UDFS_DIR="${UDFS_DIR:-$(abspath "$PUBLISH_DIR")}"
    ENV_PREFIX=(env "DOTNET_WORKER_DIR=$WORKER_DIR" "DOTNET_ASSEMBLY_SEARCH_PATHS=$UDFS_DIR")
    SUBMIT+=(--master "$MASTER" --deploy-mode client
      --conf "spark.executorEnv.DOTNET_WORKER_DIR=$WORKER_DIR"
      --conf "spark.executorEnv.DOTNET_ASSEMBLY_SEARCH_PATHS=$UDFS_DIR")
    APP=("$APPHOST")
    ;;
  yarn-*)
    # The app goes as a tar.gz (keeps the apphost's executable bit); YARN unpacks both archives
    # into every container (and the application master) under their #aliases.
    UDFS_ARCHIVE="$(dirname "$PUBLISH_DIR")/$APP_NAME.tar.gz"
    run tar -czf "$UDFS_ARCHIVE" -C "$PUBLISH_DIR" .
    SUBMIT+=(--master yarn --deploy-mode "${MODE#yarn-}"
      --archives "$WORKER_TARBALL#worker,$UDFS_ARCHIVE#udfs"
      --conf "spark.executorEnv.DOTNET_WORKER_DIR=./worker/$WORKER_FOLDER"
      --conf "spark.executorEnv.DOTNET_ASSEMBLY_SEARCH_PATHS=./udfs")
    if [[ "$MODE" == "yarn-cluster" ]]; then
      SUBMIT+=(--conf "spark.yarn.appMasterEnv.DOTNET_WORKER_DIR=./worker/$WORKER_FOLDER"
        --conf "spark.yarn.appMasterEnv.DOTNET_ASSEMBLY_SEARCH_PATHS=./udfs")
      APP=("./udfs/$APP_NAME")
    else
      # Read by the driver here and passed to the executors as strings, resolved in their containers.
      ENV_PREFIX=(env "DOTNET_WORKER_DIR=./worker/$WORKER_FOLDER" "DOTNET_ASSEMBLY_SEARCH_PATHS=./udfs")
      APP=("$APPHOST")
    fi
    ;;
esac
if [[ "$IGNORE_PATCH" == "1" ]]; then
  SUBMIT+=(--conf spark.dotnet.ignoreSparkPatchVersionCheck=true)
fi
if [[ -n "$GPUS" ]]; then
  GPU_SCRIPT="${GPU_SCRIPT:-${SPARK_HOME:-\$SPARK_HOME}/examples/src/main/scripts/getGpusResources.sh}"
  SUBMIT+=(--conf "spark.executor.resource.gpu.amount=$GPUS"
    --conf spark.task.resource.gpu.amount=1
    --conf "spark.executor.resource.gpu.discoveryScript=$GPU_SCRIPT")
fi
for setting in "${EXTRA_CONF[@]+"${EXTRA_CONF[@]}"}"; do
  SUBMIT+=(--conf "$setting")
done
SUBMIT+=("$JAR" "${APP[@]}" "${JOB_ARGS[@]}")

run "${ENV_PREFIX[@]+"${ENV_PREFIX[@]}"}" "${SUBMIT[@]}"
