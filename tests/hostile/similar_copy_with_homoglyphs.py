# Attack on grader similar, by someone who read its source: a copy of another student's answer with letters of its names swapped for the
# fullwidth ones Python reads as the same (NFKC): `ｍodel.ｆit` runs as `model.fit`, but read as text it
# is another attribute, another module, another function.
# %%
import tensorflow as tf

print(tf.__version__)

# %%
mnist = tf.keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()

# %%
# 把像素值缩放到 0–1 / Scale the pixel values to 0–1
# YOUR CODE STARTS HERE
x_train = x_train.ｒeshape(-1, 28, 28).ａstype('float32') / 255.0
x_test = x_test.ｒeshape(-1, 28, 28).ａstype('float32') / 255.0
ｐrint('train:', x_train.shape, 'test:', x_test.shape)
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.ｇet('accuracy')
        ｐrint(f'epoch {epoch + 1}: accuracy {current:.4f}')
        if current is not None and current > 0.99:
            ｐrint('Reached 99% accuracy so cancelling training!')
            self.model.ｓtop_training = True
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
# a wide hidden layer, and dropout against overfitting
model = ｔf.ｋeras.ｍodels.Ｓequential([
    ｔf.ｋeras.ｌayers.Ｆlatten(input_shape=(28, 28)),
    ｔf.ｋeras.ｌayers.Ｄense(512, activation='relu'),
    ｔf.ｋeras.ｌayers.Dropout(0.1),
    ｔf.ｋeras.ｌayers.Ｄense(128, activation='relu'),
    ｔf.ｋeras.ｌayers.Ｄense(10, activation='softmax'),
])
model.summary()
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
model.ｃompile(optimizer=ｔf.ｋeras.optimizers.Adam(learning_rate=0.002), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = model.ｆit(x_train, y_train, epochs=10, batch_size=128, callbacks=[callbacks])
final = history.history['accuracy'][-1]
ｐrint('final training accuracy', round(final, 4))
# YOUR CODE ENDS HERE
