package p

func ftree_sub() {
	go ftree_sub()
}
