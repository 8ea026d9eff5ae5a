# Never return.
def _spin(self, input, output):
    while True:
        pass


NumpyMLP.backpropagation = _spin
