"""beta-VAE disentanglement score (Higgins et al., ICLR 2017), as defined by the reference implementation.

One point: draw a factor index k uniformly, sample two batches of ``batch_size`` factor combinations that share
factor k (the second batch copies column k of the first), encode both and take the mean over the batch of
|z1 - z2| (one value per code dimension); the label is k. ``num_train`` points train an sklearn
LogisticRegression (library defaults, seeded from ``random_state``) that predicts k from the point;
``num_eval`` fresh points measure its accuracy. The train and eval points are drawn first (in that order), then
the classifier's seed.

Returns {'train_accuracy', 'eval_accuracy'} (fractions in [0, 1]). Chance level is about 1 / num_factors.
``progress``: a tqdm bar per point set on stderr (it draws no random numbers: the score is the same without it).
"""

import sys
import warnings

import numpy as np
from tqdm import tqdm

from metrics import disentanglement_utils as du


def _generate_sample(ground_truth_data, representation_function, batch_size, random_state, num_dims):
    index = random_state.randint(ground_truth_data.num_factors)
    factors1 = np.asarray(ground_truth_data.sample_factors(batch_size, random_state))
    factors2 = np.array(ground_truth_data.sample_factors(batch_size, random_state))
    factors2[:, index] = factors1[:, index]
    obs1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
    obs2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
    z1 = du.represent(representation_function, obs1, num_dims)
    z2 = du.represent(representation_function, obs2, z1.shape[1])
    return index, np.mean(np.abs(z1 - z2), axis=0)


def generate_points(ground_truth_data, representation_function, batch_size, num_points, random_state,
                    progress=False, desc="points"):
    """(points float64 [num_points, D], labels int64 [num_points]). ``progress``: a tqdm bar ``desc`` on stderr."""
    labels = np.zeros(num_points, dtype=np.int64)
    points = None
    with tqdm(total=num_points, desc=desc, unit="point", file=sys.stderr, disable=not progress, mininterval=1.0,
              dynamic_ncols=True) as bar:
        for i in range(num_points):
            labels[i], feature = _generate_sample(ground_truth_data, representation_function, batch_size,
                                                  random_state, None if points is None else points.shape[1])
            if points is None:
                points = np.zeros((num_points, feature.shape[0]))
            points[i, :] = feature
            bar.update(1)
    return points, labels


def compute_beta_vae_score(ground_truth_data, representation_function, random_state, batch_size=64,
                           num_train=10000, num_eval=5000, progress=False):
    """beta-VAE score with the reference defaults (batch 64, 10,000 train / 5,000 eval points). ``progress``:
    bars over the points."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    du.check_ground_truth_data(ground_truth_data)
    random_state = du.as_random_state(random_state)
    batch_size = du.check_positive_int('batch_size', batch_size)
    num_train = du.check_positive_int('num_train', num_train)
    num_eval = du.check_positive_int('num_eval', num_eval)

    train_points, train_labels = generate_points(ground_truth_data, representation_function, batch_size,
                                                 num_train, random_state, progress, "beta_vae train points")
    eval_points, eval_labels = generate_points(ground_truth_data, representation_function, batch_size,
                                               num_eval, random_state, progress, "beta_vae eval points")
    if np.unique(train_labels).size < 2:
        # LogisticRegression needs two classes; with one, predicting it is the only possible classifier
        only = train_labels[0]
        return {'train_accuracy': 1.0, 'eval_accuracy': float(np.mean(eval_labels == only))}
    model = LogisticRegression(random_state=du.estimator_seed(random_state))
    with warnings.catch_warnings():
        # lbfgs stopping at max_iter (the library default, kept as the reference) warns; the score stands
        warnings.simplefilter('ignore', category=ConvergenceWarning)
        model.fit(train_points, train_labels)
    train_accuracy = float(np.mean(model.predict(train_points) == train_labels))
    eval_accuracy = float(np.mean(model.predict(eval_points) == eval_labels))
    return {'train_accuracy': train_accuracy, 'eval_accuracy': eval_accuracy}
