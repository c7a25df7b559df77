"""The op types an exported model's graph may contain, and what each one is for the layer count.

An allow-list: an op type that is in none of these sets is refused by the graph audit
(`grader.inside.graph_audit.audit`) and cannot be classified by the layer count. The sets were built from
the graphs that real Keras models of the course export (Dense, Conv1D/2D/3D, depthwise, separable
and transposed convolutions, every pooling layer, Flatten, Dropout, BatchNormalization,
LayerNormalization, Rescaling, Reshape, Resizing, every built-in activation, logits or softmax
outputs), plus the standard math and tensor-shaping ops a custom layer may use. Nothing here reads
or writes a file, a data set, a queue, a table or a Python function, and nothing prints.
"""

from __future__ import annotations

CONV = frozenset(
    {
        "Conv2D",
        "Conv3D",
        "Conv",  # the generic N-d convolution
        "DepthwiseConv2dNative",
        "Conv2DBackpropInput",  # a transposed convolution
        "Conv3DBackpropInputV2",
        "Conv3DBackpropInput",
        "Conv2DBackpropFilter",
        "Conv3DBackpropFilterV2",
        "DepthwiseConv2dNativeBackpropInput",
        "DepthwiseConv2dNativeBackpropFilter",
        "ExtractImagePatches",  # patches then a matmul is a convolution
        "ExtractVolumePatches",
        "Dilation2D",  # a morphological convolution with a trained filter
    }
)
"""Convolution-like ops: each one counts as a convolution layer (a separable convolution's
depthwise-then-1x1 pair counts once, see `grader.inside.graph_audit`)."""

POOL = frozenset(
    {
        "MaxPool",
        "MaxPoolV2",
        "MaxPool3D",
        "MaxPoolWithArgmax",
        "AvgPool",
        "AvgPool3D",
        "FractionalMaxPool",
        "FractionalAvgPool",
        "MaxPoolGrad",
        "AvgPoolGrad",
    }
)
"""Pooling ops: each one counts as a pooling layer."""

REDUCE = frozenset({"Mean", "Sum", "Max", "Min", "Prod", "EuclideanNorm"})
"""Reductions: a pooling when they reduce a spatial axis (global pooling, or pooling written as a
reshape and a reduction), neutral over the batch or the feature axis (normalisation layers)."""

RESIZE = frozenset({"ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea", "ScaleAndTranslate"})
"""Image resizing: a pooling when it makes the image smaller, neutral when it does not."""

CALL = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
BRANCH = frozenset({"If", "StatelessIf", "Case", "StatelessCase"})
LOOP = frozenset({"While", "StatelessWhile"})

NEUTRAL = frozenset(
    {
        # structure and data flow
        "Const", "Identity", "IdentityN", "NoOp", "Placeholder", "PlaceholderWithDefault", "Snapshot",
        "StopGradient", "PreventGradient", "EnsureShape", "CheckNumerics", "CheckNumericsV2", "Assert",
        "ReadVariableOp",
        # shapes and layout
        "Shape", "ShapeN", "Size", "Rank", "Reshape", "Squeeze", "ExpandDims", "Transpose", "Pack", "Unpack",
        "Concat", "ConcatV2", "Split", "SplitV", "Slice", "StridedSlice", "Tile", "Fill", "ZerosLike",
        "OnesLike", "Range", "Cast", "BroadcastTo", "BroadcastArgs", "BroadcastGradientArgs", "Pad", "PadV2",
        "MirrorPad", "Gather", "GatherV2", "GatherNd", "Where", "Select", "SelectV2", "OneHot", "ReverseV2",
        "ScatterNd", "TensorScatterUpdate", "TensorScatterAdd", "SpaceToBatchND", "BatchToSpaceND",
        "MatrixBandPart", "Cumsum",
        # in-memory lists of tensors (recurrent layers' loops)
        "TensorListFromTensor", "TensorListGetItem", "TensorListReserve", "TensorListSetItem",
        "TensorListStack", "TensorListLength", "TensorListElementShape", "TensorListPushBack",
        "TensorListPopBack",
        # dense layers and normalisation
        "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum", "BiasAdd", "BiasAddV1",
        "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "LRN",
        # element-wise arithmetic
        "Add", "AddV2", "AddN", "Sub", "Mul", "MulNoNan", "Div", "DivNoNan", "RealDiv", "FloorDiv",
        "FloorMod", "TruncateDiv", "Mod", "Maximum", "Minimum", "Neg", "Abs", "Sign", "Square", "Sqrt",
        "Rsqrt", "Reciprocal", "Inv", "Exp", "Expm1", "Log", "Log1p", "Pow", "SquaredDifference", "Floor",
        "Ceil", "Round", "Rint", "Sin", "Cos", "Tan", "Atan", "Atan2", "Sinh", "Cosh", "Asinh", "Erf", "Erfc",
        "Erfinv", "Xlogy", "Xdivy", "ClipByValue", "IsNan", "IsInf", "IsFinite", "Equal", "NotEqual", "Less",
        "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr", "LogicalNot", "ArgMax", "ArgMin",
        "All", "Any",
        # activations and their gradients (custom-gradient activations keep these in the library)
        "Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Softplus", "Softsign", "Sigmoid", "Tanh", "Softmax",
        "LogSoftmax", "ReluGrad", "Relu6Grad", "EluGrad", "SeluGrad", "LeakyReluGrad", "SoftplusGrad",
        "SoftsignGrad", "SigmoidGrad", "TanhGrad", "RsqrtGrad", "SqrtGrad", "ReciprocalGrad", "BiasAddGrad",
        # random numbers (noise layers and dropout written by hand; they read nothing)
        "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal",
        "StatelessRandomUniform", "StatelessRandomUniformV2", "StatelessRandomUniformInt",
        "StatelessRandomUniformIntV2", "StatelessRandomNormal", "StatelessRandomNormalV2",
        "StatelessTruncatedNormal", "StatelessTruncatedNormalV2", "StatelessRandomGetKeyCounter",
        "StatelessRandomGetKeyCounterAlg", "StatelessRandomGetAlg",
    }
)
"""Ops that are neither a convolution nor a pooling."""

SAVER = frozenset(
    {"SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin", "StaticRegexFullMatch",
     "DisableCopyOnRead", "AssignVariableOp"}
)
"""Allowed only in the functions that TensorFlow's exporter writes to save and restore the
variables (named by the meta graph's `saver_def`, reachable from nothing else)."""

MAIN_GRAPH = frozenset({"VarHandleOp", "VarIsInitializedOp", "AssignVariableOp", "ReadVariableOp", "Placeholder"})
"""Allowed in the SavedModel's top-level graph too (variables and the signatures' inputs); the
TensorFlow 2 loader never runs that graph, it only reads the function library and the objects."""

ALLOWED = CONV | POOL | REDUCE | RESIZE | CALL | BRANCH | LOOP | NEUTRAL
"""Every op type a function of the model may contain."""
