"""The concepts behind each pane, in short Markdown pages shown by F1."""

from __future__ import annotations

TOPIC_TITLES: dict[str, str] = {
    "overview": "How a network learns",
    "data": "Data: splits and scaling",
    "layers": "Layers, activations, initialisation, regularisation",
    "training": "Training: loss, optimizer, epochs and batches",
    "grid": "Grid search",
    "charts": "Reading the charts",
    "results": "Results table",
    "heatmap": "Grid heatmap",
    "log": "Log and keys",
    "inside": "Inside the network",
    "evaluation": "Evaluation of a classifier",
    "boundary": "Decision boundary",
}

TOPICS: dict[str, str] = {
    "overview": """\
# How a feed-forward network learns

A multilayer network is a chain of layers. Each **Dense** layer multiplies its input by a
weight matrix, adds a bias and passes the result through a non-linear **activation**:
`h = f(xW + b)`. The last layer turns the final hidden values into a prediction.

Training repeats two steps on small groups of examples (**batches**):

1. **Forward pass** - compute every layer's output, from the inputs to the prediction, and
   measure how wrong the prediction is with the **loss**.
2. **Backward pass** - **backpropagation** applies the chain rule from the output back to the
   inputs to get the gradient of the loss with respect to every weight, reusing the partial
   derivatives it has already computed. **Gradient descent** then moves each weight a small
   step (the **learning rate**) against its gradient.

One **epoch** is one pass over all the training examples, i.e. as many updates as there are
batches. Without hidden layers the network can only draw straight (linear) boundaries; hidden
layers with non-linear activations let it bend them.

Press **F1** in any pane for the ideas behind that pane.
""",
    "data": """\
# Data

* **Source** - a bundled scikit-learn set (digits, iris, wine, breast cancer, diabetes, ...),
  a synthetic set (moons, circles, blobs, ...), a Keras set (mnist, fashion_mnist; these need a
  download the first time) or your own CSV/NPZ file.
* **Task** - classification (predict a class) or regression (predict a number); `auto`
  decides from the targets.
* **Test size** - the share of examples kept aside and used once, after training, to report
  how well the model does on data it never saw.
* **Validation split** - the share of the *training* examples held back each epoch to produce
  `val_loss` and the validation metric. This is what you watch for overfitting.
* **Scaling** - features on very different scales make some weights matter more than others
  and slow gradient descent down. `standard` gives every feature mean 0 and variance 1,
  `minmax` maps it to [0, 1]. The scaler is fitted on the training split only, so no
  information leaks from the test set.
""",
    "layers": """\
# Layers

Each line of the stack is one layer, with its output shape and its number of parameters
(weights plus biases). The output layer is added for you from the task.

**Activation** - the non-linearity after the weighted sum.
* `sigmoid` squashes to (0, 1); fine for a binary output, but its gradient vanishes in deep
  stacks. `tanh` squashes to (-1, 1) and is centred on zero.
* `relu` keeps positive values and zeroes the rest; cheap, and its gradient does not vanish
  for positive inputs, which is why it is the usual choice for hidden layers.

**Initialisation** - where gradient descent starts. Weights far from a good region make
training slow or unstable. `glorot_*` (Xavier) scales the random weights by the number of
inputs and outputs and suits sigmoid/tanh; `he_*` scales by the inputs only and suits relu.

**Regularisation** fights overfitting (training loss keeps falling while validation loss
rises):
* **L1** adds the sum of absolute weights times a factor to the loss; it pushes some weights
  to exactly zero, which drops unhelpful inputs.
* **L2** adds the sum of squared weights times a factor; it keeps every weight small without
  zeroing them. Both together make an elastic net.
* **Kernel / bias / activity** regularisers penalise the weights, the biases or the layer's
  output.
* **Dropout** switches off a random fraction of the units at every training step, so the
  network cannot rely on any single unit. It is off when predicting.
* **Max-norm** caps the length of each unit's incoming weight vector; the Dropout paper pairs
  dropout with a max-norm of about 3.
""",
    "training": """\
# Training

* **Loss** - what gradient descent minimises. Cross-entropy compares the predicted class
  probabilities with the true class and punishes confident mistakes hard; mean squared error
  averages the squared distance between prediction and target (regression). `auto` picks
  one from the task.
* **Optimizer** - how the gradient becomes a weight update. `sgd` steps straight down the
  gradient (optionally with momentum); `rmsprop` and `adagrad` adapt the step per weight
  (adagrad suits sparse data); `adam` combines momentum with per-weight steps and is a good
  default.
* **Learning rate** - the step size. Too small: the loss creeps down. Too large: it jumps
  around or explodes (the run is marked *Diverged*).
* **Batch size** - examples per update. Small batches give many noisy updates per epoch;
  large ones give fewer, smoother updates.
* **Epochs** - full passes over the training data.
* **Early stopping** - stop when the monitored value (usually `val_loss`) has not improved
  for `patience` epochs, and optionally restore the best weights.
* **Seed** - fixes the random choices (split, initial weights, dropout) so a run repeats.
""",
    "grid": """\
# Grid search

A grid lists values for some settings (learning rate, units, activation, dropout rate, L2
factor, ...). The search trains one model per combination (a **candidate**) and scores each
with **k-fold cross-validation**: the training data is cut into k folds, the model is trained
k times, each time validated on a different fold, and the mean score ranks the candidates.

The model is wrapped with scikeras (`KerasClassifier` / `KerasRegressor`) so scikit-learn's
`GridSearchCV` can clone and fit it like any other estimator; scaling sits inside a pipeline
so that each fold's scaler sees only that fold's training part.

Cost grows fast: candidates x folds fits. Start with few values, look at the heatmap, then
narrow the grid around the best region. **F6** runs the grid; **Apply best** (`a` in the
Heatmap tab, or the command palette) copies the winning values into the editors. A search that
was stopped or crashed continues where it was with **Resume grid search** (command palette, or
`r` in the past runs, F3).
""",
    "charts": """\
# Reading the charts

The left chart shows the **loss** on the training data and on the validation split
(`val_loss`) after every epoch; the right chart shows the metric (accuracy, mae, ...) and its
validation twin. The previous run of the session is drawn faintly for comparison; `l` (or
ctrl+l) switches the loss axis to a log scale.

With L1/L2 (or activity) regularisers Keras adds the penalty to both `loss` and `val_loss`, so
two runs with different regularisers do not compare by their loss. `d` on the loss chart
switches to the **data loss** (loss minus the penalty at the end of each epoch), which does.

What to look for:
* Both losses fall and level off close together: the model fits well.
* Training loss keeps falling while validation loss turns up: **overfitting** - add dropout
  or L2, use fewer units, or stop earlier.
* Both stay high: **underfitting** - more units or layers, more epochs, a larger learning rate.
* The loss jumps or becomes NaN: the learning rate is too high (or the inputs are not
  scaled).
* A flat line from the start: a dead or saturated network - check activation and
  initialisation.

During a grid search each candidate's latest fold is drawn as its own line.
""",
    "results": """\
# Results

One row per run of this session: its settings, epochs, the best validation value, the test
metrics measured once at the end, the time and the status (done, stopped, diverged,
failed). Click a header (or press `s`, `r` in the table) to sort; select a row (enter or
click) to draw its curves.

For a grid search a second table lists the candidates: rank, parameters, mean ± standard
deviation of the cross-validation score, mean fit time and status. Select a candidate to
see its folds' curves.
""",
    "heatmap": """\
# Heatmap

Choose two grid keys for the rows (`y`) and columns (`x`); each cell shows the mean
cross-validation score of the candidates with those two values (the best one when other
keys vary too). Cells fill in as candidates finish; `*` marks the best score and `fail` a
candidate that diverged or raised. A smooth slope suggests where to extend the grid; a
single bright cell at the edge suggests the best value lies beyond it. `a` (or the button)
copies the best candidate's values into the editors.
""",
    "log": """\
# Log and keys

The log records runs starting and ending, warnings and errors.

| key | does |
|-----|------|
| F5 | train the edited experiment |
| F6 | grid search over the Grid pane |
| F7 | stop the running train or search |
| ctrl+s / ctrl+o | save the preset as / open a preset |
| ctrl+e | the equivalent Keras script |
| F3 | past runs (reopen, resume a search) |
| F1 | help for the focused pane |
| F2 | switch between editors and charts (narrow terminals) |
| alt+1..4 | Data, Layers, Training, Grid |
| alt+5..8 | Charts, Results, Heatmap, Log |
| alt+9, alt+0 | Inside, Evaluation |
| F4 | the next view: Results, Heatmap, Inside, Evaluation, Boundary, Log |
| ctrl+l | log scale for the loss chart (`d` on it: data loss) |
| ctrl+p | command palette (apply best, resume, ...) |
| ctrl+q | quit (asks first while a run is active) |
""",
    "inside": """\
# Inside the network

Two networks can draw the same flat loss line and be stuck for opposite reasons. After every
epoch a run pushes a fixed **probe batch** of 256 training rows through the network and records,
for each Dense layer (first to last, the output layer included):

* **grad**: the norm of the gradient of the data loss (without the regularisation penalty) with
  respect to the layer's weights. The chart draws it per layer on a log scale, each line marked
  with its layer's number. With sigmoid in a deep stack the first layer's gradient is thousands
  of times smaller than the last's (**vanishing gradients**: the first layers barely learn);
  ReLU with He initialisation keeps them alike. Tiny random-normal weights make every
  gradient tiny.
* **dead**: ReLU units whose output is 0 on every probe row; they no longer learn (too large a
  learning rate, a bad initialisation).
* **sat**: sigmoid/tanh outputs within 2% of their range from a bound, where their slope is
  nearly 0.
* **small**: weights with |w| < 0.001; L1 drives weights there (sparse), L2 shrinks them all
  without zeroing them.
* **max|w|**: the largest norm of one unit's incoming weights, next to the max-norm limit when
  one is set (`*` when a unit sits at the limit: the constraint is at work).

Below the table, the selected layer's weight histogram (up/down or `[` `]` choose the layer)
changes as the run trains. `fit.diagnostics = false` turns these statistics off; past runs
show theirs with `i` in the past runs (F3).
""",
    "evaluation": """\
# Evaluation

When a classification run finishes, its model is tested once on the test split:

* The **confusion matrix**: rows are the true class, columns the predicted one; the diagonal
  counts the right answers. A shade before each count shows its share of the row, so large
  confusions stand out without colour.
* **Per class**: precision (of the rows predicted as the class, the share that are),
  recall (of the rows of the class, the share found), F1 (their harmonic mean) and support
  (rows of the class in the test split).
* **Misclassified images** for image data (digits, MNIST): each with its true and predicted
  class and its row number in the test split; `n` and `p` page through them.
""",
    "boundary": """\
# Decision boundary

For a classifier with two input features (moons, circles, 2-feature blobs or a 2-column
file) the run reports every few epochs which class the network predicts over the whole
plane, in the features' own units, with a sample of the training points on top. Each class
has its own region fill (blank, dots, colons, ...) and point mark (`o`, `x`, `+`, ...), so the
picture reads without colour; `p` hides or shows the points.

Watch how the regions bend as training goes: a network without hidden layers can only draw a
straight boundary; more units and layers bend it further, and a boundary that wraps around
single points is overfitting.
""",
}
