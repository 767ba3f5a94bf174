package p

func h() {
	go h()
}
