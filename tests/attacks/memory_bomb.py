# Allocate until something gives: a list that doubles in size forever.
def _bomb(self, input, output):
    hoard = [0]
    while True:
        hoard = hoard + hoard


NumpyMLP.backpropagation = _bomb
