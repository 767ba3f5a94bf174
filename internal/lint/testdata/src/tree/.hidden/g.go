package p

func ftree__hidden() {
	go ftree__hidden()
}
