package p

func ftree() {
	go ftree()
}
