"""skltnn: tensor neural networks as scikit-learn estimators.

Hidden layers hold their weights as matrix product operators (MPO) and are
trained by a DMRG-like two-site sweep or by ordinary backpropagation.
"""

from ._classifier import TNNClassifier
from ._compress import CompressionReport, compress
from ._factorize import balanced_factors
from ._layers import MPOConv2d, MPOEmbedding, MPOLinear
from ._mpo import MPO
from ._regressor import TNNRegressor

__version__ = "0.1.0.dev0"

__all__ = ["MPO", "CompressionReport", "MPOConv2d", "MPOEmbedding", "MPOLinear", "TNNClassifier", "TNNRegressor",
           "balanced_factors", "compress", "__version__"]
