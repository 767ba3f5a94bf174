package p

func ftree_sub_deeper() {
	go ftree_sub_deeper()
}
